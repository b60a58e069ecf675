export { AdminClient, fromErrorBody, type AdminClientOptions, type SmsRecord } from './admin-client.js';
export { openRemoteSite, remoteSite } from './remote-site.js';
