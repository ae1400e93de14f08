/**
 * The tests' TLS hellos: the product's builders (src/capture/sources/demo/tlsBuilders) with a
 * fixed random and a short cipher list, so a test names only what it is about.
 */
import { clientHello as buildClientHello, serverHello } from '../../src/capture/sources/demo/tlsBuilders';

/** A ClientHello handshake message for `serverName` offering `alpn` and `versions`. */
export function clientHello(serverName: string, alpn: string[], versions: number[]): Buffer {
  return buildClientHello({ serverName, alpn, versions, cipherSuites: [0x1301, 0xc02f], random: Buffer.alloc(32, 7) });
}

/** A ServerHello handshake message choosing TLS 1.3 (supported_versions) and `suite`. */
export function serverHello13(suite = 0x1301): Buffer {
  return serverHello({ version: 0x0304, cipherSuite: suite, random: Buffer.alloc(32, 9) });
}
