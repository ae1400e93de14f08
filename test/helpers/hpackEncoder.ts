/** The HPACK encoder of the tests: the demo's (src/capture/sources/demo/hpackEncoder.ts), one copy for both. */
export * from '../../src/capture/sources/demo/hpackEncoder';
