export { createDpAgent, type DpAgent, type DpAgentOptions } from './dp-agent.js';
export { AgentStoreView, type PresentedTree } from './agent-store-view.js';
export { BATCH_BODY_LIMIT, CHUNK_BODY_LIMIT, JSON_BODY_LIMIT, MANIFEST_BODY_LIMIT } from './dp-routes.js';
