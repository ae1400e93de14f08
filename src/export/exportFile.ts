/**
 * Files the dashboard writes on a key (a HAR of a list, a curl line): a new name each time,
 * never overwriting, written whole to a temporary name and renamed, so a file that exists is
 * complete. Named by the data's time (the one clock), not the wall's.
 */
import * as fs from 'fs';
import * as path from 'path';

/** `20260307-143015` (UTC) for epoch seconds. */
function stamp(epochSeconds: number): string {
  const iso = new Date(Math.max(0, Math.floor(epochSeconds)) * 1000).toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
}

/**
 * Writes `text` to `dir/wiretop-STAMP[-n].EXT` and returns the path; throws an Error whose
 * message says what failed (no directory, no permission).
 */
export function writeExport(dir: string, dataTime: number, extension: string, text: string): string {
  const base = `wiretop-${Number.isFinite(dataTime) ? stamp(dataTime) : 'export'}`;
  for (let n = 0; n < 1000; n++) {
    const file = path.resolve(dir, `${base}${n === 0 ? '' : `-${n}`}.${extension}`);
    if (fs.existsSync(file)) continue;
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    // Private, as the HAR files are: URLs with their query strings, headers.
    const fd = fs.openSync(temp, 'wx', 0o600);
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } catch (error) {
      fs.closeSync(fd);
      fs.unlinkSync(temp);
      throw error;
    }
    fs.closeSync(fd);
    try {
      // link, not rename: it fails if another file took the name meanwhile, instead of replacing it.
      fs.linkSync(temp, file);
      fs.unlinkSync(temp);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        fs.unlinkSync(temp);
        continue;
      }
      // A file system without hard links (vfat, SMB): rename, the name was free a moment ago.
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
        fs.renameSync(temp, file);
        return file;
      }
      fs.unlinkSync(temp);
      throw error;
    }
    return file;
  }
  throw new Error(`too many exports named ${base} in ${dir}`);
}

/** What failed, in a few words: `EACCES`, `ENOENT`… with the path. */
export function exportFailure(error: unknown, dir: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  return `could not write in ${dir}: ${code ?? (error as Error).message} (set "export_dir" in the config to a writable directory)`;
}
