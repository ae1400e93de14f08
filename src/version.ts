/** wiretop's own version, for --version, HAR files' creator and the like. */
import * as fs from 'fs';
import * as path from 'path';

/** The version in wiretop's package.json (found from the sources and from dist/ alike). */
export function wiretopVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'wiretop' && manifest.version !== undefined) return manifest.version;
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}
