//! Bulk ingest: every media file of a folder (recursively, in path order)
//! through [`super::upload::upload`], so the same bytes are stored once and
//! a second run stores nothing; and the file-name patterns that say which
//! product a file belongs to (`{sku}_{n}.jpg`). Linking the assets to
//! products is a product change, made above the workflow
//! (`import::media_links`).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use regex::Regex;

use super::assets::Asset;
use super::upload::{self, Uploaded};
use super::{Media, MediaError};
use crate::audit::Actor;
use crate::db::{Clock, Db};

/// File-name extensions taken as media (case-insensitive); anything else in
/// the folder (a CSV, notes) is skipped. SVG and the like are taken so that
/// they are refused with a reason instead of passed over in silence.
const MEDIA_EXTENSIONS: [&str; 17] = [
    "jpg", "jpeg", "jpe", "jfif", "png", "gif", "webp", "tif", "tiff", "pdf", "svg", "svgz", "bmp",
    "heic", "heif", "avif", "psd",
];

/// A media file found in the folder.
#[derive(Debug, Clone)]
pub struct FolderFile {
    /// Relative to the folder, with `/` between segments.
    pub relative: String,
    pub path: PathBuf,
    pub size: u64,
}

/// What a folder holds.
#[derive(Debug, Default)]
pub struct Folder {
    /// Media files in path order.
    pub files: Vec<FolderFile>,
    /// Other files (relative paths), not ingested.
    pub skipped: Vec<String>,
}

impl Folder {
    /// The media file at `relative` (a `/`-separated path inside the folder).
    pub fn file(&self, relative: &str) -> Option<&FolderFile> {
        self.files.iter().find(|f| f.relative == relative)
    }

    /// The media files with this file name, in any subfolder.
    pub fn named(&self, name: &str) -> Vec<&FolderFile> {
        self.files
            .iter()
            .filter(|f| f.relative.rsplit('/').next() == Some(name))
            .collect()
    }
}

/// Lists the media files under `root`, recursively and sorted by relative
/// path. Hidden files and folders (`.name`) are left out; symbolic links
/// to folders are not followed (no loops).
pub fn scan(root: &Path) -> Result<Folder, MediaError> {
    let meta = std::fs::metadata(root)
        .map_err(|err| MediaError::Invalid(format!("cannot read {}: {err}", root.display())))?;
    if !meta.is_dir() {
        return Err(MediaError::Invalid(format!(
            "{} is not a folder",
            root.display()
        )));
    }
    let mut folder = Folder::default();
    let mut pending = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|err| MediaError::Invalid(format!("cannot read {}: {err}", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(|err| {
                MediaError::Invalid(format!("cannot read {}: {err}", dir.display()))
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let relative = format!("{prefix}{name}");
            let kind = entry
                .file_type()
                .map_err(|err| MediaError::Invalid(format!("cannot read {relative}: {err}")))?;
            let path = entry.path();
            if kind.is_dir() {
                pending.push((path, format!("{relative}/")));
                continue;
            }
            // A link to a file is followed; a link to a folder is not.
            let Ok(meta) = std::fs::metadata(&path) else {
                folder.skipped.push(relative);
                continue;
            };
            if !meta.is_file() {
                folder.skipped.push(relative);
            } else if is_media_name(&name) {
                folder.files.push(FolderFile {
                    relative,
                    path,
                    size: meta.len(),
                });
            } else {
                folder.skipped.push(relative);
            }
        }
    }
    folder.files.sort_by(|a, b| a.relative.cmp(&b.relative));
    folder.skipped.sort();
    Ok(folder)
}

fn is_media_name(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(_, ext)| {
        MEDIA_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known))
    })
}

/// What became of one file.
#[derive(Debug, Clone)]
pub enum FileOutcome {
    /// Stored as a new asset.
    New(Asset),
    /// The same bytes were stored before (by an earlier run, an upload, or
    /// another file of this run): that asset.
    Duplicate(Asset),
    /// Not stored, and why.
    Refused(String),
}

impl FileOutcome {
    pub fn asset(&self) -> Option<&Asset> {
        match self {
            FileOutcome::New(asset) | FileOutcome::Duplicate(asset) => Some(asset),
            FileOutcome::Refused(_) => None,
        }
    }
}

/// One file and what became of it.
#[derive(Debug, Clone)]
pub struct IngestedFile {
    pub relative: String,
    pub outcome: FileOutcome,
}

/// Stores every file through [`upload::upload`] (limits, content sniffing,
/// dedupe), calling `progress` after each. A file the upload refuses is an
/// outcome; the store or the database failing stops the run (what was
/// stored stays, and a second run goes on from there).
pub async fn ingest(
    db: &Db,
    media: &Media,
    actor: &Actor,
    clock: &Clock,
    files: &[FolderFile],
    progress: &mut (dyn FnMut(&IngestedFile) + Send),
) -> Result<Vec<IngestedFile>, MediaError> {
    let mut done = Vec::with_capacity(files.len());
    for file in files {
        let outcome = ingest_one(db, media, actor, clock, file).await?;
        let ingested = IngestedFile {
            relative: file.relative.clone(),
            outcome,
        };
        progress(&ingested);
        done.push(ingested);
    }
    Ok(done)
}

async fn ingest_one(
    db: &Db,
    media: &Media,
    actor: &Actor,
    clock: &Clock,
    file: &FolderFile,
) -> Result<FileOutcome, MediaError> {
    // Too large is known from the folder, without reading the file.
    if file.size > media.limits.max_bytes {
        return Ok(FileOutcome::Refused(
            MediaError::TooLarge {
                size: file.size,
                limit: media.limits.max_bytes,
            }
            .to_string(),
        ));
    }
    let bytes = match tokio::fs::read(&file.path).await {
        Ok(bytes) => Bytes::from(bytes),
        Err(err) => return Ok(FileOutcome::Refused(format!("cannot read the file: {err}"))),
    };
    let name = file.relative.rsplit('/').next().unwrap_or(&file.relative);
    match upload::upload(db, media, actor, name, bytes, &[], clock.now()).await {
        Ok(Uploaded {
            asset,
            created: true,
        }) => Ok(FileOutcome::New(asset)),
        Ok(Uploaded {
            asset,
            created: false,
        }) => Ok(FileOutcome::Duplicate(asset)),
        Err(err @ (MediaError::Storage(_) | MediaError::Db(_))) => Err(err),
        Err(refused) => Ok(FileOutcome::Refused(refused.to_string())),
    }
}

/// A file-name pattern such as `{sku}_{n}.jpg`: `{sku}` is the product's
/// SKU, `{n}` the image's position (optional), `{ext}` any extension, `*`
/// anything; the rest is literal, compared without regard to case. A
/// pattern with a `/` is matched against the path inside the folder, one
/// without against the file name.
#[derive(Debug, Clone)]
pub struct FilePattern {
    text: String,
    regex: Regex,
    whole_path: bool,
}

/// Where a file belongs by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternMatch {
    pub sku: String,
    /// The position (`{n}`), 0 without one.
    pub position: u64,
}

impl FilePattern {
    /// The default: `{sku}_{n}.jpg`.
    pub const DEFAULT: &'static str = "{sku}_{n}.jpg";

    pub fn parse(text: &str) -> Result<Self, MediaError> {
        let invalid = |why: &str| MediaError::Invalid(format!("the pattern {text:?} {why}"));
        let mut regex = String::from("(?i)^");
        let (mut sku, mut position, mut ext) = (0, 0, 0);
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("{sku}") {
                sku += 1;
                regex.push_str("(?P<sku>[^/]+)");
                rest = after;
            } else if let Some(after) = rest.strip_prefix("{n}") {
                position += 1;
                regex.push_str("(?P<n>[0-9]{1,9})");
                rest = after;
            } else if let Some(after) = rest.strip_prefix("{ext}") {
                ext += 1;
                regex.push_str("(?P<ext>[A-Za-z0-9]+)");
                rest = after;
            } else if let Some(after) = rest.strip_prefix('*') {
                regex.push_str("[^/]*");
                rest = after;
            } else if rest.starts_with('{') {
                return Err(invalid(
                    "has an unknown {placeholder}; use {sku}, {n}, {ext} or *",
                ));
            } else {
                let end = rest.find(['{', '*']).unwrap_or(rest.len());
                let (literal, after) = rest.split_at(end);
                if end == 0 {
                    // A lone `{` that starts nothing known was refused above.
                    return Err(invalid("cannot be read"));
                }
                regex.push_str(&regex::escape(literal));
                rest = after;
            }
        }
        regex.push('$');
        if sku != 1 {
            return Err(invalid("must name {sku} exactly once"));
        }
        if position > 1 || ext > 1 {
            return Err(invalid("may name {n} and {ext} once each"));
        }
        let regex = Regex::new(&regex).map_err(|err| invalid(&err.to_string()))?;
        Ok(Self {
            text: text.to_owned(),
            regex,
            whole_path: text.contains('/'),
        })
    }

    /// The SKU and position `relative` (a path inside the folder) names.
    pub fn matches(&self, relative: &str) -> Option<PatternMatch> {
        let subject = if self.whole_path {
            relative
        } else {
            relative.rsplit('/').next().unwrap_or(relative)
        };
        let found = self.regex.captures(subject)?;
        let sku = found.name("sku")?.as_str().trim();
        if sku.is_empty() {
            return None;
        }
        let position = found
            .name("n")
            .and_then(|n| n.as_str().parse().ok())
            .unwrap_or(0);
        Some(PatternMatch {
            sku: sku.to_owned(),
            position,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(sku: &str, position: u64) -> Option<PatternMatch> {
        Some(PatternMatch {
            sku: sku.to_owned(),
            position,
        })
    }

    #[test]
    fn the_default_pattern_reads_sku_and_position() {
        let pattern = FilePattern::parse(FilePattern::DEFAULT).expect("pattern");
        assert_eq!(pattern.matches("BT-01_1.jpg"), found("BT-01", 1));
        assert_eq!(pattern.matches("shoes/bt-01_12.JPG"), found("bt-01", 12));
        // The SKU may hold underscores: the position is the last number.
        assert_eq!(pattern.matches("TEE_RED_M_2.jpg"), found("TEE_RED_M", 2));
        assert_eq!(pattern.matches("BT-01.jpg"), None);
        assert_eq!(pattern.matches("BT-01_1.png"), None);
        assert_eq!(pattern.matches("BT-01_x.jpg"), None);
        assert_eq!(pattern.matches("_1.jpg"), None);
    }

    #[test]
    fn patterns_with_extensions_wildcards_and_folders() {
        let any = FilePattern::parse("{sku}-{n}.{ext}").expect("pattern");
        assert_eq!(any.matches("A1-3.webp"), found("A1", 3));
        let main = FilePattern::parse("{sku}.*").expect("pattern");
        assert_eq!(main.matches("A1.png"), found("A1", 0));
        let by_folder = FilePattern::parse("{sku}/{n}.jpg").expect("pattern");
        assert_eq!(by_folder.matches("A1/2.jpg"), found("A1", 2));
        assert_eq!(by_folder.matches("x/A1/2.jpg"), None);
        // Regex characters are literal.
        let dotted = FilePattern::parse("img.{sku}(+).jpg").expect("pattern");
        assert_eq!(dotted.matches("img.A1(+).jpg"), found("A1", 0));
        assert_eq!(dotted.matches("imgxA1(+).jpg"), None);
    }

    #[test]
    fn bad_patterns_say_why() {
        for (text, why) in [
            ("{n}.jpg", "exactly once"),
            ("{sku}_{sku}.jpg", "exactly once"),
            ("{sku}_{n}_{n}.jpg", "once each"),
            ("{sku}_{pos}.jpg", "unknown {placeholder}"),
        ] {
            let err = FilePattern::parse(text).expect_err(text);
            assert!(err.to_string().contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn the_folder_is_read_recursively_in_path_order() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/c")).expect("dirs");
        std::fs::create_dir_all(root.join(".git")).expect("dirs");
        for name in [
            "z.jpg",
            "a.PNG",
            "b/c/d.webp",
            "b/x.svg",
            "notes.txt",
            ".hidden.jpg",
            ".git/e.jpg",
        ] {
            std::fs::write(root.join(name), b"x").expect("write");
        }
        let folder = scan(root).expect("scan");
        let names: Vec<&str> = folder.files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(names, ["a.PNG", "b/c/d.webp", "b/x.svg", "z.jpg"]);
        assert_eq!(folder.skipped, ["notes.txt"]);
        assert_eq!(folder.named("d.webp").len(), 1);
        assert!(folder.file("b/c/d.webp").is_some());
        assert!(scan(&root.join("z.jpg")).is_err());
    }
}
