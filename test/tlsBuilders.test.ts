/** The TLS builders shared by the demo, the fixtures and the benchmark: their bytes, and wiretop reading them back. */
import { alpnList, clientHello, extension, handshake, handshakeRecords, record, serverHello, u16, vec16 } from '../src/capture/sources/demo/tlsBuilders';
import { parseClientHello, parseServerHello } from '../src/tls/handshake';

const RANDOM = Buffer.alloc(32, 7);

describe('TLS builders', () => {
  it('write lengths big-endian before what they count', () => {
    expect(u16(0x1234)).toEqual(Buffer.from([0x12, 0x34]));
    expect(() => u16(0x10000)).toThrow();
    expect(vec16(Buffer.from('ab'))).toEqual(Buffer.from([0, 2, 0x61, 0x62]));
    expect(extension(43, Buffer.from([2, 3, 4]))).toEqual(Buffer.from([0, 43, 0, 3, 2, 3, 4]));
    expect(alpnList(['h2', 'x'])).toEqual(Buffer.from([0, 5, 2, 0x68, 0x32, 1, 0x78]));
    expect(record(23, Buffer.from([9]))).toEqual(Buffer.from([23, 3, 3, 0, 1, 9]));
    expect(handshake(2, Buffer.from([9, 9]))).toEqual(Buffer.from([2, 0, 0, 2, 9, 9]));
  });

  it('cut a handshake message into records of the size asked, version 3.1', () => {
    const message = Buffer.alloc(25, 1);
    const records = handshakeRecords(message, 10);
    expect(records.length).toBe(25 + 3 * 5);
    expect([...records.subarray(0, 5)]).toEqual([22, 3, 1, 0, 10]);
    expect([...records.subarray(30, 35)]).toEqual([22, 3, 1, 0, 5]);
  });

  it('make a ClientHello wiretop reads back, to the byte as the fixtures have always had it', () => {
    const message = clientHello({ serverName: 'x.example', alpn: ['h2'], versions: [0x0304], cipherSuites: [0x1301, 0xc02f], random: RANDOM });
    // Type, length; legacy version, random, no session id, two suites, null compression; SNI, ALPN, supported_versions.
    expect(message.toString('hex')).toBe([
      '0100004f', '0303', '07'.repeat(32), '00', '00041301c02f', '0100',
      '0022', '0000000e000c000009782e6578616d706c65', '001000050003026832', '002b0003020304',
    ].join(''));
    expect(parseClientHello(message.subarray(4))).toMatchObject({ random: RANDOM, serverName: 'x.example', alpn: ['h2'], versions: ['TLS 1.3'] });
  });

  it('leave out the server name and ALPN when the spec has none', () => {
    const message = clientHello({ versions: [0x4a4a, 0x0304, 0x0303], cipherSuites: [0x1301], random: RANDOM });
    expect(parseClientHello(message.subarray(4))).toMatchObject({ serverName: '', alpn: [], versions: ['TLS 1.3', 'TLS 1.2'] });
  });

  it('make ServerHellos: 1.3 names its version in supported_versions, 1.2 carries the ALPN choice', () => {
    const random = Buffer.alloc(32, 9);
    const tls13 = serverHello({ version: 0x0304, cipherSuite: 0x1302, alpn: 'h2', random });
    expect(parseServerHello(tls13.subarray(4))).toEqual({ random, versionNumber: 0x0304, version: 'TLS 1.3', cipherSuite: 0x1302, alpn: '' });
    const tls12 = serverHello({ version: 0x0303, cipherSuite: 0xc02f, alpn: 'http/1.1', random });
    expect(parseServerHello(tls12.subarray(4))).toEqual({ random, versionNumber: 0x0303, version: 'TLS 1.2', cipherSuite: 0xc02f, alpn: 'http/1.1' });
  });
});
