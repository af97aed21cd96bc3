//! The `sluice` command line.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use sluice::app;
use sluice::audit::Actor;
use sluice::auth::users::{self, NewUser};
use sluice::auth::{Role, Roles, Scopes, tokens};
use sluice::config::Config;
use sluice::schema_code;
use tracing_subscriber::EnvFilter;

/// mimalloc: imports allocate and free millions of small strings and JSON
/// values; the system allocator spent a quarter of an import's CPU time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sluice: the governed product-data layer between an ERP and the sales channels.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web UI and API on SLUICE_BIND (default 127.0.0.1:8080).
    Serve,
    /// Create the data folder, migrate, seed demo users, print their logins and serve.
    Demo {
        /// Seed and exit instead of serving.
        #[arg(long)]
        seed_only: bool,
    },
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Import an ERP file (CSV or JSON Lines) through a mapping profile,
    /// with a progress bar and a summary. Exit status: 0 all rows applied,
    /// 2 some rows failed (the rest applied), 1 the job failed.
    Import {
        /// The file to import.
        file: std::path::PathBuf,
        /// The mapping profile's code (see /settings/profiles).
        #[arg(long)]
        profile: String,
        /// upsert (create and change), full (also disable products missing
        /// from the file) or dry-run (check and report, write nothing).
        #[arg(long, value_enum, default_value_t = ImportMode::Upsert)]
        mode: ImportMode,
    },
    /// Write a synthetic ERP item export (CSV) for demos and benchmarks.
    GenerateErp {
        /// Rows to write (models and variants count as rows).
        #[arg(long)]
        items: usize,
        /// Apparel with color/size and footwear with size variants.
        #[arg(long)]
        variants: bool,
        /// Add what real files get wrong: BOM, `;`, decimal commas, lost
        /// leading zeros, quoted line breaks, duplicates, unknown groups,
        /// scientific notation.
        #[arg(long)]
        messy: bool,
        /// The file to write.
        #[arg(short = 'o', long = "output")]
        output: std::path::PathBuf,
        /// Random seed; the same seed writes the same file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write a channel's full published snapshot to a file, after letting
    /// the publisher catch up with every approved change.
    Export {
        /// The channel's code.
        #[arg(long)]
        channel: String,
        /// jsonl, xml (Google Merchant RSS), tsv (Google Merchant) or shopify (product CSV).
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// The file to write.
        #[arg(short = 'o', long = "output")]
        output: std::path::PathBuf,
    },
    /// The catalog schema and the mapping profiles as code (TOML).
    Schema {
        #[command(subcommand)]
        command: SchemaCommand,
    },
    /// Media (DAM) from the command line.
    Media {
        #[command(subcommand)]
        command: MediaCommand,
    },
}

#[derive(Debug, Subcommand)]
enum MediaCommand {
    /// Store every media file of a folder as an asset (deduplicated, with a
    /// progress bar) and propose linking them to products, by file name
    /// (`{sku}_{n}.jpg`) or through a CSV file's columns of file names.
    /// Running it again changes nothing. Exit status 2 when some files or
    /// links were refused (the rest went in).
    Import(MediaImportArgs),
}

#[derive(Debug, Args)]
struct MediaImportArgs {
    /// The folder (read recursively; hidden files are left out).
    folder: std::path::PathBuf,
    /// File-name pattern: {sku} the product's SKU, {n} the image's position,
    /// {ext} any extension, * anything.
    #[arg(
        long = "match",
        default_value = "{sku}_{n}.jpg",
        conflicts_with = "file"
    )]
    pattern: String,
    /// A CSV file whose rows name each product's image files (relative to the folder).
    #[arg(long, requires = "columns")]
    file: Option<std::path::PathBuf>,
    /// A column of file names in the CSV file, in image order; repeat for several.
    #[arg(long = "column", requires = "file")]
    columns: Vec<String>,
    /// The mapping profile whose identifier column holds the SKU (and whose
    /// delimiter and encoding the CSV file has).
    #[arg(long, requires = "file")]
    profile: Option<String>,
    /// The CSV column with the SKU (instead of the profile's identifier).
    #[arg(long, requires = "file")]
    sku_column: Option<String>,
    /// The assets attribute to link to (default: the channels' images attribute, else images).
    #[arg(long)]
    attribute: Option<String>,
    /// Leave the renditions to the server's rendition worker instead of making them now.
    #[arg(long)]
    no_renditions: bool,
}

#[derive(Debug, Subcommand)]
enum SchemaCommand {
    /// Print the schema and the mapping profiles (`[[profiles]]`) as TOML on stdout.
    Export,
    /// Apply a schema file: print the plan, then apply it. A file without a
    /// `profiles` key leaves the mapping profiles as they are.
    Apply {
        /// The TOML file (as written by `schema export`).
        file: std::path::PathBuf,
        /// Print the plan only.
        #[arg(long)]
        dry_run: bool,
        /// Allow steps that remove or invalidate product values, or delete mapping profiles.
        #[arg(long)]
        allow_destructive: bool,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user. The password comes from SLUICE_PASSWORD or a prompt.
    Add(UserAdd),
}

#[derive(Debug, Args)]
struct UserAdd {
    /// The e-mail address the user signs in with.
    email: String,
    /// A role: admin, editor, approver or viewer. Repeat for several.
    #[arg(long = "role", required = true, value_parser = parse_role)]
    roles: Vec<Role>,
    /// The display name.
    #[arg(long, default_value = "")]
    name: String,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token and print it on stdout (nothing else).
    Create(TokenCreate),
}

#[derive(Debug, Args)]
struct TokenCreate {
    /// A name that says what uses the token, e.g. "shopify-connector".
    name: String,
    /// The user the token acts as.
    #[arg(long)]
    user: String,
    /// catalog:read, catalog:write, import, feed:<channel>, feed:* or admin. Repeat for several.
    #[arg(long = "scope", required = true)]
    scopes: Vec<String>,
}

/// `import --mode`, spelled as on the API (`?mode=`).
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ImportMode {
    Upsert,
    Full,
    DryRun,
}

impl From<ImportMode> for sluice::import::jobs::Mode {
    fn from(mode: ImportMode) -> Self {
        match mode {
            ImportMode::Upsert => Self::Upsert,
            ImportMode::Full => Self::Full,
            ImportMode::DryRun => Self::DryRun,
        }
    }
}

/// `export --format`, spelled as the export's file extension.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    Jsonl,
    Xml,
    Tsv,
    Shopify,
}

impl From<ExportFormat> for sluice::publish::formats::ExportFormat {
    fn from(format: ExportFormat) -> Self {
        match format {
            ExportFormat::Jsonl => Self::Jsonl,
            ExportFormat::Xml => Self::GoogleXml,
            ExportFormat::Tsv => Self::GoogleTsv,
            ExportFormat::Shopify => Self::ShopifyCsv,
        }
    }
}

/// Roles keep a parser of their own: its "unknown role" message is what
/// scripts and the tests read.
fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text)
        .ok_or_else(|| format!("unknown role {text:?}; use admin, editor, approver or viewer"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve | Command::Demo { .. });
    if let Err(message) = init_tracing(if serving { "info,sqlx=warn" } else { "warn" }) {
        eprintln!("sluice: {message}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("sluice: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<PartialImport>() => ExitCode::from(2),
        Err(err) => {
            eprintln!("sluice: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// An import that applied some rows and failed others: exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("some rows failed")]
struct PartialImport;

/// Logs go to stderr (stdout is for output scripts read, like a new token).
fn init_tracing(default_filter: &str) -> Result<(), String> {
    let filter = match std::env::var("SLUICE_LOG") {
        Ok(directives) => EnvFilter::try_new(&directives)
            .map_err(|err| format!("SLUICE_LOG={directives:?} is not valid: {err}"))?,
        Err(_) => EnvFilter::new(default_filter),
    };
    // Colour only on a terminal: piped or logged output stays plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    Ok(())
}

async fn run(command: Command) -> anyhow::Result<()> {
    let config = Config::load()?;
    match command {
        Command::Serve => {
            let state = app::prepare(config).await?;
            app::serve(state).await
        }
        Command::Demo { seed_only } => demo(config, seed_only).await,
        Command::Migrate => {
            let url = config.database_url.clone();
            let state = app::prepare(config).await?;
            state.db.close().await;
            eprintln!("sluice: {url} is up to date");
            Ok(())
        }
        Command::User {
            command: UserCommand::Add(add),
        } => user_add(config, add).await,
        Command::Token {
            command: TokenCommand::Create(create),
        } => token_create(config, create).await,
        Command::Schema { command } => schema(config, command).await,
        Command::Media {
            command: MediaCommand::Import(args),
        } => media_import(config, args).await,
        Command::Export {
            channel,
            format,
            output,
        } => {
            let state = app::prepare(config).await?;
            let written =
                sluice::publish::export::to_file(&state, &channel, format.into(), &output).await?;
            println!(
                "{} products of channel {channel} written to {} ({} bytes)",
                written.products,
                output.display(),
                written.bytes
            );
            state.db.close().await;
            Ok(())
        }
        Command::Import {
            file,
            profile,
            mode,
        } => {
            let state = app::prepare(config).await?;
            let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let job = sluice::import::cli::import_file(
                &state,
                &file,
                &profile,
                mode.into(),
                "import",
                tty,
            )
            .await?;
            print!("{}", sluice::import::cli::summary(&state, &job).await?);
            state.db.close().await;
            match job.status {
                sluice::import::jobs::Status::Succeeded => Ok(()),
                sluice::import::jobs::Status::Partial => Err(anyhow::Error::new(PartialImport)),
                _ => anyhow::bail!("import job #{} failed", job.id),
            }
        }
        Command::GenerateErp {
            items,
            variants,
            messy,
            output,
            seed,
        } => {
            let file = std::fs::File::create(&output)
                .with_context(|| format!("cannot write {}", output.display()))?;
            let options = sluice::import::generate::GenerateOptions {
                items,
                variants,
                messy,
                seed,
            };
            let report = sluice::import::generate::generate(std::io::BufWriter::new(file), options)
                .with_context(|| format!("cannot write {}", output.display()))?;
            eprintln!(
                "sluice: wrote {} rows ({} models, {} variants, {} faulty) to {}",
                report.rows,
                report.models,
                report.variants,
                report.faulty,
                output.display()
            );
            Ok(())
        }
    }
}

async fn media_import(config: Config, args: MediaImportArgs) -> anyhow::Result<()> {
    use sluice::import::media_links::{self, CsvLinks, LinkSpec, MediaImport};
    let links = match args.file {
        Some(file) => LinkSpec::Csv(CsvLinks {
            file,
            profile: args.profile,
            sku_column: args.sku_column,
            columns: args.columns,
        }),
        None => LinkSpec::Pattern(args.pattern),
    };
    let import = MediaImport {
        folder: args.folder,
        links,
        attribute: args.attribute,
        make_renditions: !args.no_renditions,
    };
    let state = app::prepare(config).await?;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let report = media_links::run(&state, &import, tty).await;
    state.db.close().await;
    let report = report?;
    print!("{}", media_links::summary(&report));
    if report.is_clean() {
        Ok(())
    } else {
        Err(anyhow::Error::new(PartialImport))
    }
}

async fn schema(config: Config, command: SchemaCommand) -> anyhow::Result<()> {
    let state = app::prepare(config).await?;
    let result = match command {
        SchemaCommand::Export => {
            let schema = sluice::catalog::store::load_schema(state.db.pool()).await?;
            let profiles = sluice::import::profiles::list(state.db.pool())
                .await?
                .into_iter()
                .map(|stored| stored.profile)
                .collect();
            let file = schema_code::SchemaFile {
                schema,
                profiles: Some(profiles),
            };
            print!("{}", schema_code::export_file(&file)?);
            Ok(())
        }
        SchemaCommand::Apply {
            file,
            dry_run,
            allow_destructive,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mut desired = schema_code::parse_file(&text)?;
            let actor = Actor::system("sluice schema apply");
            // Plan first and print it; then apply exactly that plan (refused
            // if the stored schema moved in between).
            let planned = schema_code::apply_file(
                &state.db,
                &actor,
                &desired,
                allow_destructive,
                true,
                state.clock.now(),
            )
            .await?;
            print!("{}", planned.plan);
            if dry_run {
                if !planned.plan.is_empty() {
                    println!("Dry run: nothing was changed.");
                }
            } else if !planned.plan.is_empty() {
                desired.schema.version = planned.base_version;
                schema_code::apply_file(
                    &state.db,
                    &actor,
                    &desired,
                    allow_destructive,
                    false,
                    state.clock.now(),
                )
                .await?;
                println!("Applied.");
            }
            Ok(())
        }
    };
    state.db.close().await;
    result
}

async fn demo(config: Config, seed_only: bool) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    let public_url = config.public_url.clone();
    let state = app::prepare(config).await?;
    let fixed = std::env::var("SLUICE_DEMO_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let logins = sluice::demo::seed_users(&state.db, &state.clock, fixed.as_deref()).await?;
    let catalog = sluice::demo::seed_catalog(&state.db, &state.clock).await?;
    println!();
    println!("Sluice demo — data folder {}", data_dir.display());
    let added = if catalog.products_created > 0 {
        format!(" ({} new)", catalog.products_created)
    } else {
        String::new()
    };
    println!(
        "Catalog: {} channels, {} attributes, {} families, {} categories, {} products{added}",
        catalog.channels,
        catalog.attributes,
        catalog.families,
        catalog.categories,
        catalog.products
    );
    match sluice::demo::erp::import_once(&state).await {
        Ok(Some(job)) => {
            println!(
                "ERP import: generated {} and imported it as job #{} ({}: {} created, {} failed)",
                job.file,
                job.id,
                job.status.as_str(),
                job.counts.created,
                job.counts.failed
            );
            for line in sluice::demo::erp::explain(&state, &job).await? {
                println!("  {line}");
            }
        }
        Ok(None) => {}
        Err(err) => println!("ERP import: the demo file was not imported ({err:#})"),
    }
    match sluice::demo::media::seed_once(&state).await {
        Ok(Some(seed)) => println!(
            "Media: {} generated product images, approved and linked to {} products",
            seed.assets, seed.linked
        ),
        Ok(None) => {}
        Err(err) => println!("Media: the demo images were not seeded ({err:#})"),
    }
    match sluice::demo::states::stage_once(
        &state.db,
        &state.schema,
        &state.clock,
        &state.config.public_url,
    )
    .await
    {
        Ok(Some(staged)) => println!("Publishing: {}", staged.summary()),
        Ok(None) => {}
        Err(err) => println!("Publishing: the demo states were not staged ({err:#})"),
    }
    if catalog.schema_drift > 0 {
        println!(
            "  The schema differs from the demo schema in {} places; it was left as is.",
            catalog.schema_drift
        );
    }
    println!("Sign in at {public_url}/login with one of:");
    for login in &logins {
        println!(
            "  {:<24} {:<20} {}",
            login.email,
            login.password,
            login.roles.to_stored()
        );
    }
    println!();
    if seed_only {
        state.db.close().await;
        return Ok(());
    }
    app::serve(state).await
}

async fn user_add(config: Config, add: UserAdd) -> anyhow::Result<()> {
    let password = match std::env::var("SLUICE_PASSWORD") {
        Ok(password) if !password.is_empty() => password,
        _ => rpassword::prompt_password(format!("Password for {}: ", add.email))
            .context("no SLUICE_PASSWORD set and no terminal to ask for a password")?,
    };
    let state = app::prepare(config).await?;
    let user = users::create(
        &state.db,
        &Actor::system("sluice user add"),
        NewUser {
            email: add.email,
            name: add.name,
            roles: Roles::new(add.roles)?,
            password,
        },
        state.clock.now(),
    )
    .await?;
    state.db.close().await;
    eprintln!("sluice: added {} ({})", user.email, user.roles.to_stored());
    Ok(())
}

async fn token_create(config: Config, create: TokenCreate) -> anyhow::Result<()> {
    let scopes = Scopes::parse_list(&create.scopes.join(" "))?;
    let state = app::prepare(config).await?;
    let created = tokens::create(
        &state.db,
        &Actor::system("sluice token create"),
        &create.name,
        &create.user,
        scopes,
        state.clock.now(),
    )
    .await?;
    state.db.close().await;
    println!("{}", created.secret);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// clap checks the arguments' relations (requires, conflicts) only when
    /// a command is parsed: check them all here, not at a user's first run.
    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
