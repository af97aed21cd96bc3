//! `sluice media import FOLDER`: stores every media file of a folder as an
//! asset ([`crate::media::ingest`], deduplicated) and links the assets to
//! products as proposals ([`crate::workflow::proposals::propose_asset_links`],
//! authored by the system actor `media-import`). Which product a file
//! belongs to comes from a file-name pattern (`{sku}_{n}.jpg`) or from a
//! CSV file's columns of file names relative to the folder (a commerce
//! export's `base_image`, `additional_images`), the SKU from the mapping
//! profile's identifier column or `--sku-column`.
//!
//! It lives here, above the workflow, because linking is a product change
//! and `media` sits below the workflow. Running it twice changes nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};

use super::profile::MappingProfile;
use super::{profiles, reader};
use crate::audit::Actor;
use crate::catalog::schema::{AttributeType, Schema};
use crate::catalog::store::sku_key;
use crate::media::ingest::{self, FileOutcome, FilePattern, Folder, IngestedFile};
use crate::media::renditions;
use crate::services::Services;
use crate::workflow::proposals::{self, AssetLinks, LinkOutcome, WorkflowError};
use crate::workflow::write::WriteError;

/// The author of media-link proposals and of the assets a run stores.
pub const ACTOR: &str = "media-import";

/// How files find their products.
#[derive(Debug, Clone)]
pub enum LinkSpec {
    /// A file-name pattern ([`FilePattern`]).
    Pattern(String),
    /// Columns of a CSV file that name files in the folder.
    Csv(CsvLinks),
}

/// A CSV file whose rows name a product and its image files.
#[derive(Debug, Clone)]
pub struct CsvLinks {
    pub file: PathBuf,
    /// The mapping profile: its identifier column, delimiter and encoding.
    pub profile: Option<String>,
    /// The SKU column, instead of (or over) the profile's identifier.
    pub sku_column: Option<String>,
    /// Columns of file names, in image order; a cell may hold several,
    /// separated by commas.
    pub columns: Vec<String>,
}

/// One run's settings.
#[derive(Debug, Clone)]
pub struct MediaImport {
    pub folder: PathBuf,
    pub links: LinkSpec,
    /// The `assets` attribute to link to; by default the one the channels
    /// map to `images`, else `images`.
    pub attribute: Option<String>,
    /// Make the renditions before returning (else the server's worker does).
    pub make_renditions: bool,
}

/// What became of one product's links.
#[derive(Debug, Clone)]
pub struct ProductLinks {
    pub sku: String,
    pub assets: usize,
    /// The outcome, or why the product's links were refused.
    pub outcome: Result<LinkOutcome, String>,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct MediaImportReport {
    pub attribute: String,
    pub files: usize,
    pub new_assets: usize,
    pub duplicates: usize,
    /// (file, why) of files not stored.
    pub refused: Vec<(String, String)>,
    /// Files in the folder that are not media files by name.
    pub skipped: Vec<String>,
    /// Stored files that no pattern or CSV row names.
    pub unlinked: Vec<String>,
    /// CSV rows and file names that could not be followed.
    pub problems: Vec<String>,
    pub products: Vec<ProductLinks>,
    /// Renditions made at the end (`None`: left to the server's worker).
    pub renditions: Option<usize>,
}

impl MediaImportReport {
    pub fn proposals_opened(&self) -> usize {
        self.products
            .iter()
            .filter(|p| matches!(p.outcome, Ok(LinkOutcome::Proposed { .. })))
            .count()
    }

    /// Products whose links now are, or are proposed to be, what the files say.
    pub fn products_linked(&self) -> usize {
        self.products.iter().filter(|p| p.outcome.is_ok()).count()
    }

    /// Nothing refused and nothing left unfollowed.
    pub fn is_clean(&self) -> bool {
        self.refused.is_empty()
            && self.problems.is_empty()
            && self.products.iter().all(|p| p.outcome.is_ok())
    }
}

/// Runs a media import: ingest, link, and (unless told not to) renditions.
pub async fn run(
    services: &Services,
    import: &MediaImport,
    show_progress: bool,
) -> anyhow::Result<MediaImportReport> {
    let schema = services.schema.get(&services.db).await?;
    let attribute = link_attribute(&schema, import.attribute.as_deref())?;
    // Everything that can be refused is checked before a file is stored.
    let pattern = match &import.links {
        LinkSpec::Pattern(text) => Some(FilePattern::parse(text)?),
        LinkSpec::Csv(_) => None,
    };
    let rows = match &import.links {
        LinkSpec::Csv(csv) => Some(read_csv(services, csv).await?),
        LinkSpec::Pattern(_) => None,
    };
    let folder_path = import.folder.clone();
    let folder = tokio::task::spawn_blocking(move || ingest::scan(&folder_path)).await??;

    let actor = Actor::system(ACTOR);
    let bar = progress_bar(show_progress, folder.files.len());
    let mut tick = |file: &IngestedFile| {
        bar.set_message(file.relative.clone());
        bar.inc(1);
    };
    let ingested = ingest::ingest(
        &services.db,
        &services.media,
        &actor,
        &services.clock,
        &folder.files,
        &mut tick,
    )
    .await?;
    bar.finish_and_clear();

    let mut report = MediaImportReport {
        attribute: attribute.clone(),
        files: ingested.len(),
        skipped: folder.skipped.clone(),
        ..MediaImportReport::default()
    };
    for file in &ingested {
        match &file.outcome {
            FileOutcome::New(_) => report.new_assets += 1,
            FileOutcome::Duplicate(_) => report.duplicates += 1,
            FileOutcome::Refused(why) => report.refused.push((file.relative.clone(), why.clone())),
        }
    }

    let wanted = match (&pattern, rows) {
        (Some(pattern), _) => by_pattern(pattern, &ingested, &mut report),
        (None, Some(rows)) => by_rows(&folder, &ingested, rows, &mut report),
        (None, None) => BTreeMap::new(),
    };
    let shown = |path: &std::path::Path| {
        std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_owned())
            .display()
            .to_string()
    };
    let note = match &import.links {
        LinkSpec::Pattern(text) => {
            format!("Images from {} (file names {text})", shown(&import.folder))
        }
        LinkSpec::Csv(csv) => format!(
            "Images from {} named in {}",
            shown(&import.folder),
            shown(&csv.file)
        ),
    };
    for (sku, assets) in wanted.into_values() {
        let links = AssetLinks {
            sku: &sku,
            attribute: &attribute,
            assets: &assets,
            note: &note,
        };
        let outcome = match proposals::propose_asset_links(
            &services.db,
            &schema,
            &actor,
            links,
            services.clock.now(),
        )
        .await
        {
            Ok(outcome) => Ok(outcome),
            Err(WorkflowError::Database(err) | WorkflowError::Write(WriteError::Database(err))) => {
                return Err(err.into());
            }
            Err(WorkflowError::Write(WriteError::NotFound(_))) => {
                Err(format!("there is no product with the SKU {sku}"))
            }
            Err(refused) => Err(refused.to_string()),
        };
        report.products.push(ProductLinks {
            sku,
            assets: assets.len(),
            outcome,
        });
    }

    if import.make_renditions {
        let spinner = progress_bar(show_progress, 0);
        spinner.set_message("making renditions");
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        let made = renditions::drain(
            &services.db,
            &services.media,
            &services.schema,
            &services.clock,
        )
        .await?;
        spinner.finish_and_clear();
        report.renditions = Some(made);
    }
    Ok(report)
}

fn progress_bar(show: bool, files: usize) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    if files == 0 {
        return ProgressBar::new_spinner();
    }
    let bar = ProgressBar::new(u64::try_from(files).unwrap_or(u64::MAX));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} files ({per_sec}, ETA {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The attribute links go to: the one asked for, else the one every
/// channel maps to `images`, else `images`; it must be an `assets` attribute.
fn link_attribute(schema: &Schema, asked: Option<&str>) -> anyhow::Result<String> {
    let code = match asked {
        Some(code) => code.to_owned(),
        None => {
            let mut mapped: Vec<&str> = schema
                .channels
                .iter()
                .filter_map(|c| c.mapping.attribute("images"))
                .collect();
            mapped.sort_unstable();
            mapped.dedup();
            match mapped.as_slice() {
                [] => "images".to_owned(),
                [one] => (*one).to_owned(),
                several => anyhow::bail!(
                    "the channels map images to different attributes ({}); choose one with --attribute",
                    several.join(", ")
                ),
            }
        }
    };
    match schema.attribute(&code) {
        Some(found) if found.kind == AttributeType::Assets => Ok(code),
        Some(_) => anyhow::bail!("{code} is not an assets attribute; choose one with --attribute"),
        None => anyhow::bail!("there is no attribute {code}; choose one with --attribute"),
    }
}

/// SKU key → (SKU as first written, asset ids in order).
type Wanted = BTreeMap<String, (String, Vec<String>)>;

fn add(wanted: &mut Wanted, sku: &str, asset: &str) {
    let entry = wanted
        .entry(sku_key(sku))
        .or_insert_with(|| (sku.to_owned(), Vec::new()));
    if !entry.1.iter().any(|a| a == asset) {
        entry.1.push(asset.to_owned());
    }
}

/// Stored files by the pattern, each product's in position order (then path).
fn by_pattern(
    pattern: &FilePattern,
    ingested: &[IngestedFile],
    report: &mut MediaImportReport,
) -> Wanted {
    let mut matched: Vec<(String, u64, &str, &str)> = Vec::new();
    for file in ingested {
        let Some(asset) = file.outcome.asset() else {
            continue;
        };
        match pattern.matches(&file.relative) {
            Some(found) => matched.push((found.sku, found.position, &file.relative, &asset.id)),
            None => report.unlinked.push(file.relative.clone()),
        }
    }
    matched.sort_by(|a, b| (sku_key(&a.0), a.1, a.2).cmp(&(sku_key(&b.0), b.1, b.2)));
    let mut wanted = Wanted::new();
    for (sku, _, _, asset) in matched {
        add(&mut wanted, &sku, asset);
    }
    wanted
}

/// A CSV row: its number (the header is row 1), SKU and file names in order.
#[derive(Debug)]
struct LinkRow {
    row: u64,
    sku: String,
    names: Vec<String>,
}

/// Reads the CSV's SKU and file-name columns, with the profile's
/// delimiter and encoding.
async fn read_csv(services: &Services, csv: &CsvLinks) -> anyhow::Result<Vec<LinkRow>> {
    if csv.columns.is_empty() {
        anyhow::bail!("name the CSV's image columns with --column (e.g. base_image)");
    }
    let profile = match &csv.profile {
        Some(code) => {
            profiles::get(services.db.pool(), code)
                .await?
                .ok_or_else(|| anyhow::anyhow!("there is no mapping profile {code}"))?
                .profile
        }
        None => {
            let Some(column) = &csv.sku_column else {
                anyhow::bail!("say where the SKU is: --profile P or --sku-column C");
            };
            let plain = serde_json::json!({
                "code": "media-links",
                "identifier": column,
                "family": {},
            });
            serde_json::from_value::<MappingProfile>(plain)?
        }
    };
    let sku_column = csv
        .sku_column
        .clone()
        .unwrap_or_else(|| profile.identifier.clone());
    let columns = csv.columns.clone();
    let path = csv.file.clone();
    let rows = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<LinkRow>> {
        let file = std::fs::File::open(&path)
            .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
        let rows = reader::open(file, &profile)?;
        for needed in std::iter::once(&sku_column).chain(&columns) {
            if !rows.header.iter().any(|h| h == needed) {
                anyhow::bail!(
                    "{} has no column {needed} (it has {})",
                    path.display(),
                    rows.header.join(", ")
                );
            }
        }
        let mut found = Vec::new();
        for row in rows {
            let row = row?;
            let sku = row.get(&sku_column).unwrap_or_default().trim().to_owned();
            let names = columns
                .iter()
                .flat_map(|column| row.get(column).unwrap_or_default().split(','))
                .map(str::trim)
                .filter(|name| !name.is_empty() && *name != "no_selection")
                .map(str::to_owned)
                .collect();
            found.push(LinkRow {
                row: row.row,
                sku,
                names,
            });
        }
        Ok(found)
    })
    .await??;
    Ok(rows)
}

/// A file name as exports write it, as a path inside the folder: a URL's
/// path, no leading `/`, `\` as `/`.
fn folder_path_of(name: &str) -> String {
    let path = match name.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None => name,
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.replace('\\', "/").trim_start_matches('/').to_owned()
}

/// Stored files by the CSV rows, each product's in column and cell order.
fn by_rows(
    folder: &Folder,
    ingested: &[IngestedFile],
    rows: Vec<LinkRow>,
    report: &mut MediaImportReport,
) -> Wanted {
    let outcome_of = |relative: &str| ingested.iter().find(|f| f.relative == relative);
    let mut named = std::collections::HashSet::new();
    let mut wanted = Wanted::new();
    for row in rows {
        if row.names.is_empty() {
            continue;
        }
        if row.sku.is_empty() {
            report
                .problems
                .push(format!("row {}: the SKU is empty", row.row));
            continue;
        }
        for name in &row.names {
            let path = folder_path_of(name);
            let file = match folder.file(&path) {
                Some(file) => Some(file),
                // Exports often keep only a file's name, or a path of
                // their own (`/b/t/name.jpg`): the name, if it is unique.
                None => {
                    let leaf = path.rsplit('/').next().unwrap_or(&path);
                    match folder.named(leaf).as_slice() {
                        [only] => Some(*only),
                        [] => None,
                        several => {
                            report.problems.push(format!(
                                "row {}: {name} matches {} files ({}); write its path inside the folder",
                                row.row,
                                several.len(),
                                several.iter().map(|f| f.relative.as_str()).collect::<Vec<_>>().join(", ")
                            ));
                            continue;
                        }
                    }
                }
            };
            let Some(file) = file else {
                report
                    .problems
                    .push(format!("row {}: {name} is not in the folder", row.row));
                continue;
            };
            named.insert(file.relative.clone());
            match outcome_of(&file.relative).map(|f| &f.outcome) {
                Some(FileOutcome::New(asset) | FileOutcome::Duplicate(asset)) => {
                    add(&mut wanted, &row.sku, &asset.id);
                }
                // Reported with the refused files already.
                Some(FileOutcome::Refused(_)) | None => {}
            }
        }
    }
    report.unlinked = ingested
        .iter()
        .filter(|f| f.outcome.asset().is_some() && !named.contains(&f.relative))
        .map(|f| f.relative.clone())
        .collect();
    wanted
}

/// The summary the CLI prints.
pub fn summary(report: &MediaImportReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "media import: {} — {}, {} already stored, {} refused",
        counted(report.files, "file", "files"),
        counted(report.new_assets, "new asset", "new assets"),
        report.duplicates,
        report.refused.len()
    );
    for (file, why) in &report.refused {
        let _ = writeln!(out, "  refused {file}: {why}");
    }
    if !report.skipped.is_empty() {
        let _ = writeln!(
            out,
            "  {} skipped (not media by name), e.g. {}",
            counted(report.skipped.len(), "other file", "other files"),
            report.skipped[0]
        );
    }
    if !report.unlinked.is_empty() {
        let _ = writeln!(
            out,
            "  {} no product (kept in the media library), e.g. {}",
            counted(
                report.unlinked.len(),
                "stored file names",
                "stored files name"
            ),
            report.unlinked[0]
        );
    }
    for problem in &report.problems {
        let _ = writeln!(out, "  {problem}");
    }
    let count = |pick: fn(&LinkOutcome) -> bool| {
        report
            .products
            .iter()
            .filter(|p| p.outcome.as_ref().is_ok_and(pick))
            .count()
    };
    let _ = writeln!(
        out,
        "links to {}: {} — {} opened, {} already linked, {} already proposed, {} rejected before, {} refused",
        report.attribute,
        counted(report.products.len(), "product", "products"),
        counted(report.proposals_opened(), "proposal", "proposals"),
        count(|o| matches!(o, LinkOutcome::AlreadyLinked)),
        count(|o| matches!(o, LinkOutcome::AlreadyProposed(_))),
        count(|o| matches!(o, LinkOutcome::Rejected(_))),
        report
            .products
            .iter()
            .filter(|p| p.outcome.is_err())
            .count()
    );
    for product in &report.products {
        match &product.outcome {
            Ok(LinkOutcome::Proposed {
                proposal,
                supersedes,
            }) => {
                let _ = write!(
                    out,
                    "  {}: proposal #{proposal} links {}",
                    product.sku,
                    counted(product.assets, "asset", "assets")
                );
                match supersedes {
                    Some(old) => {
                        let _ = writeln!(out, " (replaces #{old})");
                    }
                    None => {
                        let _ = writeln!(out);
                    }
                }
            }
            Ok(LinkOutcome::Rejected(proposal)) => {
                let _ = writeln!(
                    out,
                    "  {}: not proposed again; proposal #{proposal} with these links was rejected",
                    product.sku
                );
            }
            Ok(_) => {}
            Err(why) => {
                let _ = writeln!(out, "  {}: {why}", product.sku);
            }
        }
    }
    match report.renditions {
        Some(made) => {
            let _ = writeln!(
                out,
                "renditions: made for {}",
                counted(made, "asset", "assets")
            );
        }
        None => {
            let _ = writeln!(out, "renditions: left to the server's rendition worker");
        }
    }
    out
}

/// `1 file`, `2 files`.
fn counted(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_file_names_become_folder_paths() {
        assert_eq!(
            folder_path_of("/b/t/bt01-black_main.jpg"),
            "b/t/bt01-black_main.jpg"
        );
        assert_eq!(folder_path_of("a.jpg"), "a.jpg");
        assert_eq!(
            folder_path_of("https://shop.example/media/catalog/a.jpg?v=2"),
            "media/catalog/a.jpg"
        );
        assert_eq!(folder_path_of("photos\\b.png"), "photos/b.png");
    }
}
