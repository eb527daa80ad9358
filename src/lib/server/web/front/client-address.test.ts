import { describe, expect, it } from 'vitest';
import { clientAddress, trustedProxyList } from './client-address.ts';

const none = trustedProxyList([]);
const proxies = trustedProxyList(['10.0.0.5', '192.168.0.0/16', 'fd00::/8']);

describe('the client address', () => {
  it('is the connection’s peer when no proxy is trusted, whatever X-Forwarded-For claims', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', none)).toBe('203.0.113.9');
    expect(clientAddress('10.0.0.5', '198.51.100.1', none)).toBe('10.0.0.5');
    expect(clientAddress('::ffff:203.0.113.9', undefined, none)).toBe('203.0.113.9');
  });

  it('is the peer when the peer is not one of the trusted proxies', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', proxies)).toBe('203.0.113.9');
  });

  it('is the entry a trusted proxy added, not what the client wrote before it', () => {
    // The client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended the address it saw.
    expect(clientAddress('10.0.0.5', '1.1.1.1, 203.0.113.9', proxies)).toBe('203.0.113.9');
    expect(clientAddress('::ffff:10.0.0.5', ['1.1.1.1', '203.0.113.9'], proxies)).toBe('203.0.113.9');
  });

  it('walks back through a chain of trusted proxies, by address or subnet', () => {
    expect(clientAddress('10.0.0.5', '1.1.1.1, 203.0.113.9, 192.168.4.4', proxies)).toBe('203.0.113.9');
    expect(clientAddress('fd00::1', '2001:db8::7', proxies)).toBe('2001:db8::7');
  });

  it('stops at an entry that is not an address, and keeps the last one believed', () => {
    expect(clientAddress('10.0.0.5', 'unknown', proxies)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '203.0.113.9, 192.168.1.1, not-an-address', proxies)).toBe('10.0.0.5');
  });
});
