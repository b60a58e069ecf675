/* eslint-disable @typescript-eslint/no-unsafe-member-access -- tests read arbitrary JSON bodies */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiFixture, type ApiFixture } from './api.test-helpers.js';

describe('the API server is the site as a pull source (GET /dp/v1/chunks/:id)', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await createApiFixture();
  });
  afterAll(() => f?.close());

  it('needs a read grant from the site; an AdminService token or a forged grant gets 401, a bad id 400', async () => {
    const id = 'a'.repeat(64);
    const none = await f.call('GET', `/dp/v1/chunks/${id}`, { token: null });
    expect(none.status).toBe(401);
    expect(none.json.error.message).toMatch(/read grant/);
    // A bearer token of the AdminService is not a read grant.
    expect((await f.call('GET', `/dp/v1/chunks/${id}`)).status).toBe(401);
    const forged = await f.call('GET', `/dp/v1/chunks/${id}`, {
      token: null,
      headers: {
        authorization: 'Sitecast-Grant eyJkcCI6IkRQOTkiLCJwa2ciOiJQUzEwMDAwMSIsImV4cCI6OTk5OTk5OTk5OTk5OX0.x',
      },
    });
    expect(forged.status).toBe(401);
    const bad = await f.call('GET', '/dp/v1/chunks/nothex', {
      token: null,
      headers: { authorization: 'Sitecast-Grant x.y' },
    });
    expect(bad.status).toBe(400);
  });
});
