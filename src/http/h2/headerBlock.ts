/**
 * What one decoded HTTP/2 header block says: its pseudo-headers (a request's method, path and
 * authority, a response's status), the fields every HTTP version keeps (through the shared
 * HeaderCollector: Host, User-Agent, forwarding, the detail's headers, secrets never read), and
 * gRPC's content-type and trailers. A field that referred to an HPACK entry from before the
 * capture began is counted as unknown; what it might have been is never guessed.
 */
import { HeaderCollector, MAX_URI_LENGTH, isReadHeader, type HeaderFields, type HeaderOptions } from '../headers';
import { boundedOctets } from '../../protocol/sanitize';
import { decodeGrpcMessage, isGrpcContentType, parseGrpcStatus } from './grpc';

/** Is a field's value read here (pseudo-headers, gRPC's, and what every HTTP version keeps)? The HPACK decoder passes over the others. */
export function isWantedField(name: string): boolean {
  return name.charCodeAt(0) === 0x3a || name === 'content-type' || name === 'grpc-status' || name === 'grpc-message' || isReadHeader(name);
}

/** The fields of the block being read; one object reused for every block of a connection's direction. */
export class HeaderBlock {
  method = '';
  path = '';
  authority = '';
  /** -1 when the block has no `:status`. */
  status = -1;
  grpc = false;
  grpcStatus: number | null = null;
  grpcMessage = '';
  /** Fields whose name the HPACK table could not tell. */
  unknownFields = 0;
  /** The path was longer than MAX_URI_LENGTH and is cut. */
  pathTruncated = false;
  readonly fields: HeaderFields = { host: '', ua: '', forwardedFor: '', kept: '' };
  private readonly collector: HeaderCollector;
  private readonly maxStr: number;
  /** The decoder's callback, bound once. */
  readonly onField: (name: string | null, value: string | null, flags: number) => void;

  constructor(options: HeaderOptions) {
    this.collector = new HeaderCollector(options);
    this.maxStr = options.maxStrLength;
    this.onField = (name, value, flags) => this.add(name, value, flags);
  }

  /** Clears the previous block. */
  start(): void {
    this.method = '';
    this.path = '';
    this.authority = '';
    this.status = -1;
    this.grpc = false;
    this.grpcStatus = null;
    this.grpcMessage = '';
    this.unknownFields = 0;
    this.pathTruncated = false;
    this.collector.start();
  }

  /** Writes out the regular fields gathered (into `fields`). */
  finish(): void {
    this.collector.finish(this.fields);
  }

  /** Is it a request's head (it says its method), a response's (its status), or neither (trailers)? */
  get isRequest(): boolean {
    return this.method !== '';
  }

  private add(name: string | null, value: string | null, flags: number): void {
    if (name === null || value === null) {
      this.unknownFields++;
      return;
    }
    if (name.charCodeAt(0) === 0x3a) {
      this.addPseudo(name, value, (flags & 1) !== 0);
      return;
    }
    switch (name) {
      case 'content-type':
        if (isGrpcContentType(value)) this.grpc = true;
        break;
      case 'grpc-status':
        this.grpcStatus = parseGrpcStatus(value);
        return;
      case 'grpc-message':
        this.grpcMessage = decodeGrpcMessage(value, this.maxStr);
        return;
    }
    this.collector.addText(name, value);
  }

  private addPseudo(name: string, value: string, truncated: boolean): void {
    switch (name) {
      case ':method':
        this.method = boundedOctets(value, 32);
        return;
      case ':path':
        this.path = boundedOctets(value, MAX_URI_LENGTH);
        this.pathTruncated = truncated || value.length > MAX_URI_LENGTH;
        return;
      case ':authority':
        this.authority = boundedOctets(value, this.maxStr);
        return;
      case ':status': {
        const status = value.length === 3 ? Number(value) : NaN;
        this.status = Number.isInteger(status) && status >= 100 ? status : 0;
        return;
      }
    }
  }
}
