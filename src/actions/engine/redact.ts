// The redactor lives in domain/ (pure rules, no I/O) so the poller and the
// engine probes, below the engine, redact with the same patterns.
export { createRedactor, REDACTED, type Redactor } from '../../domain/redact.js';
