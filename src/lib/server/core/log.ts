import pino from 'pino';
import { getSettings } from './config.ts';

/**
 * Structured logs (one JSON object per line on stdout) so an operator can ship and query
 * them; request paths and context names are fields, never interpolated into messages.
 */
export const logger = pino({ level: getSettings().logLevel, base: { service: 'truth-yard-console' } });
