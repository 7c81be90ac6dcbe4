import { LOG_REDACTIONS } from '../http/bearer-token.js';
import { loadCodecConfig } from '../config/codec.js';
import { loadCodecServerConfig } from '../config/codec-server.js';
import { ConfigError } from '../config/env.js';
import { loadLogLevel } from '../config/process.js';
import { loadTemporalConfig } from '../config/temporal.js';
import { runMain } from '../config/run-main.js';
import { buildCodecApp } from './app.js';
import { EncryptionCodec } from './encryption-codec.js';

// Wiring only: `npm run codec-server`, for `temporal --codec-endpoint` and the Temporal Web UI.
runMain(async () => {
  const server = loadCodecServerConfig();
  const codec = loadCodecConfig();
  if (!codec.enabled)
    throw new ConfigError(
      'TEMPORAL_CODEC_KEYS',
      'is required by the codec server: with TEMPORAL_CODEC_DISABLED=true it has no keys to work with',
    );
  const { namespace } = loadTemporalConfig();
  const app = buildCodecApp({
    codec: new EncryptionCodec(codec.keys),
    namespace,
    corsOrigins: server.corsOrigins,
    authTokens: server.authTokens,
    logger: { level: loadLogLevel(), redact: LOG_REDACTIONS },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void app.close());
  }
  await app.listen({ port: server.port, host: server.host });
  const endpoint = `http://${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`;
  console.log(
    `Codec server at ${endpoint} for namespace "${namespace}"; keys ${codec.keys.map((key) => `"${key.id}"`).join(', ')}; ` +
      `CORS origins ${server.corsOrigins.join(', ') || 'none'}; ${server.authTokens.length > 0 ? 'bearer token required' : 'NO authentication (CODEC_AUTH_DISABLED=true)'}`,
  );
});
