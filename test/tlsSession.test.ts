import * as fs from 'fs';
import { recordTls, recordingFrames, selfSignedCertificate } from './helpers/tlsTranscript';
import { writePcap } from './helpers/conversation';

const credentials = selfSignedCertificate();

describe('scratch', () => {
  it('writes', async () => {
    const rec = await recordTls(credentials, { maxVersion: 'TLSv1.3', serverName: 'shop.example.test', requests: [{ method: 'GET', path: '/a' }, { method: 'GET', path: '/missing' }, { method: 'POST', path: '/c' }], connections: 3 });
    writePcap('/tmp/tt/t13.pcap', recordingFrames(rec));
    fs.writeFileSync('/tmp/tt/t13.keys', rec.keyLog, { mode: 0o600 });
  });
});
