//! Writing files whole: no reader (the plugins folder's watcher, a restarting server) ever sees
//! half a file. Each is written beside its place under a name ending in `.partial`, then renamed
//! over it; a rename within one folder is atomic.

use std::path::Path;

/// Writes `bytes` to `path` whole: to a file beside it first, then renamed over it. The
/// temporary name does not end in `.wasm`, so the plugins folder's watcher ignores it.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)
}

/// As [`write_whole`], for files that hold secrets: readable by the owner only, and on disk
/// before it replaces the old file.
pub(crate) fn write_whole_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let partial = path.with_extension("partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}
