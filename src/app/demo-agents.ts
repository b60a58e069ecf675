/**
 * The demo's remote DPs: two DP agents (`sitecast dp serve`) on loopback, as branch-office hosts would run
 * them, added to the site with their secrets. They run in the demo's process to keep it one command; the
 * site reaches them over HTTP exactly as it reaches agents on other hosts.
 */
import { join } from 'node:path';
import { createDpAgent, generateDpSecret, type DpAgent } from '../dp/index.js';
import type { SiteHandle } from './site.js';

export const agentDpNames = ['DP04', 'DP05'] as const;

export interface DemoAgents {
  /** Base URL of each agent by DP name. */
  readonly urls: ReadonlyMap<string, string>;
  close(): Promise<void>;
}

export async function startDemoAgents(
  site: SiteHandle,
  dir: string,
  cmd: (text: string) => void,
): Promise<DemoAgents> {
  const agents: DpAgent[] = [];
  const urls = new Map<string, string>();
  try {
    for (const name of agentDpNames) {
      const agentDir = join(dir, 'agents', name);
      const secret = generateDpSecret();
      const agent = await createDpAgent({ dir: agentDir, secret });
      agents.push(agent);
      const url = await agent.listen({ port: 0, host: '127.0.0.1' });
      urls.set(name, url);
      cmd(`dp serve --dir ${agentDir} --port ${new URL(url).port}   # on the branch host`);
      cmd(`dp add --name ${name} --url ${url} --secret …`);
      await site.dps.addHttp({ name, url, secret });
    }
  } catch (e) {
    for (const a of agents) await a.close().catch(() => undefined);
    throw e;
  }
  return {
    urls,
    close: async () => {
      for (const a of agents) await a.close().catch(() => undefined);
    },
  };
}
