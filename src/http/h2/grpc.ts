/**
 * What gRPC adds to an HTTP/2 exchange (the gRPC over HTTP/2 protocol): it is a request whose
 * content-type is `application/grpc` (or `application/grpc+proto`, …), its method is the path
 * `/package.Service/Method`, each message goes as a 5-byte prefix (compressed flag, length) and
 * its bytes, and the outcome is the `grpc-status` trailer (0 OK), with a `grpc-message`.
 */
import { boundedOctets } from '../../protocol/sanitize';

/** gRPC status codes by number, for display. */
export const GRPC_STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
  'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

/** Is this content-type gRPC's? */
export function isGrpcContentType(value: string): boolean {
  const length = GRPC_CONTENT_TYPE.length;
  if (value.length < length || (value.length > length && value[length] !== '+' && value[length] !== ';')) return false;
  // Compared in place, ignoring ASCII case: every request and response with a content-type asks.
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== GRPC_CONTENT_TYPE.charCodeAt(i)) return false;
  }
  return true;
}

const GRPC_CONTENT_TYPE = 'application/grpc';

/** The method of a gRPC path, `/pkg.Service/Method` → `pkg.Service/Method`. */
export function grpcMethodOf(path: string): string {
  return path.startsWith('/') ? path.slice(1) : path;
}

/** A `grpc-status` value as a number, or null when it is not one. */
export function parseGrpcStatus(value: string): number | null {
  if (value.length === 0 || value.length > 10) return null;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return null;
    n = n * 10 + c;
  }
  return n;
}

/** The value of a hex digit's character code, or -1. */
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

/** A `grpc-message` value: percent-encoded UTF-8 (gRPC's own rule), decoded, bounded and sanitised. */
export function decodeGrpcMessage(value: string, maxLength: number): string {
  if (value.indexOf('%') < 0) return boundedOctets(value, maxLength);
  let octets = '';
  for (let i = 0; i < value.length && octets.length < maxLength; i++) {
    const high = value[i] === '%' && i + 2 < value.length ? hexValue(value.charCodeAt(i + 1)) : -1;
    const low = high >= 0 ? hexValue(value.charCodeAt(i + 2)) : -1;
    if (low >= 0) {
      octets += String.fromCharCode(high * 16 + low);
      i += 2;
    } else {
      octets += value[i];
    }
  }
  return boundedOctets(octets, maxLength);
}

/** Counts the length-prefixed messages of one direction of a gRPC stream, from its DATA bytes as they come. */
export class GrpcMessageCounter {
  messages = 0;
  /** Prefix bytes still to read (0 while in a message's bytes). */
  private prefixLeft = 5;
  private length = 0;
  /** A message's bytes still to pass over. */
  private bodyLeft = 0;

  push(buf: Buffer, start: number, end: number): void {
    let at = start;
    while (at < end) {
      if (this.prefixLeft > 0) {
        // Byte 0 is the compressed flag; bytes 1–4 the length, big-endian.
        if (this.prefixLeft <= 4) this.length = this.length * 256 + buf[at];
        at++;
        if (--this.prefixLeft === 0) {
          this.messages++;
          this.bodyLeft = this.length;
          this.length = 0;
          if (this.bodyLeft === 0) this.prefixLeft = 5;
        }
        continue;
      }
      const take = Math.min(this.bodyLeft, end - at);
      at += take;
      this.bodyLeft -= take;
      if (this.bodyLeft === 0) this.prefixLeft = 5;
    }
  }
}
