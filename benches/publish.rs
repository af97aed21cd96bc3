//! Publishing figures: 100,000 ERP items (apparel and footwear with
//! variants, electronics, home) published to one channel by the publisher
//! following the change log (readiness, payload, snapshot and feed event per
//! sellable unit), then a connector draining that feed over HTTP with
//! 1000-event pages, compared with fetching the very same bytes as static
//! files from a static file server on the same machine.
//!
//! Last, the latency of an approval: approve over HTTP → the event visible
//! in the feed, with the publisher worker running as in a server.
//!
//! `cargo bench --bench publish` (`SLUICE_BENCH_ITEMS` changes the size,
//! `SLUICE_BENCH_APPROVALS` the number of approvals timed).
//! The static side is served in-process from disk by default; to compare
//! with another server (e.g. nginx), point it at a folder, and run with
//! `SLUICE_BENCH_STATIC_DIR=<that folder>` (the pages are written there)
//! and `SLUICE_BENCH_STATIC_URL=http://127.0.0.1:<port>`.
//!
//! Setup (not timed): the demo schema with its channels replaced by one
//! channel `bench` (json, en_US, USD, weights in kg) requiring name and price,
//! the ERP file imported through `erp-items`, and the imported products
//! enabled with a plain SQL update (imports create products disabled).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use sluice::app::AppState;
use sluice::audit::Actor;
use sluice::auth::Scopes;
use sluice::config::Config;
use sluice::import::generate::{GenerateOptions, generate};
use sluice::import::jobs::{Mode, Status};
use sqlx::Row;

/// The same allocator as the `sluice` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CHANNEL: &str = "bench";

fn config(data_dir: &std::path::Path) -> Config {
    let mut env = HashMap::new();
    env.insert("SLUICE_DATA_DIR".to_owned(), data_dir.display().to_string());
    Config::from_sources(None, &|name| env.get(name).cloned()).unwrap()
}

/// The demo schema with one channel only, so the figure is one channel's.
fn bench_schema() -> sluice::catalog::schema::Schema {
    let mut schema = sluice::demo::catalog_schema().unwrap();
    let mut channel = schema.channels[0].clone();
    channel.code = CHANNEL.to_owned();
    channel.locales = vec!["en_US".to_owned()];
    channel.currencies = vec!["USD".to_owned()];
    channel.category_root = None;
    channel.output_format = sluice::catalog::schema::OutputFormat::Json;
    channel.url_template = "https://shop.example.com/p/{sku}".to_owned();
    channel.units = [("weight".to_owned(), "KILOGRAM".to_owned())].into();
    schema.channels = vec![channel];
    for family in &mut schema.families {
        family.requirements = [(
            CHANNEL.to_owned(),
            vec!["name".to_owned(), "base_price".to_owned()],
        )]
        .into();
    }
    schema
}

async fn count(state: &AppState, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(state.db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

/// A minimal HTTP/1.1 keep-alive client: GET, read the headers, read
/// exactly Content-Length bytes. Enough for both servers, and the same
/// client on both sides of the comparison.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Client {
    fn connect(addr: &str) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            reader: BufReader::with_capacity(1 << 20, stream.try_clone().unwrap()),
            writer: stream,
            host: addr.to_owned(),
        }
    }

    fn get(&mut self, path: &str, token: Option<&str>, body: &mut Vec<u8>) {
        let status = self.send("GET", path, token, &[], "", body);
        assert_eq!(status, 200, "{path}");
    }

    /// Sends a request with extra headers and a JSON body (may be empty);
    /// answers the status, the response body in `body`.
    fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        json: &str,
        body: &mut Vec<u8>,
    ) -> u16 {
        let mut head = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !json.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        if method != "GET" {
            head.push_str(&format!("Content-Length: {}\r\n", json.len()));
        }
        write!(
            self.writer,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{head}\r\n{json}",
            self.host
        )
        .unwrap();
        let mut status = String::new();
        self.reader.read_line(&mut status).unwrap();
        let code: u16 = status
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("{path}: {status}"));
        let mut length = None;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("content-length:") {
                length = Some(value.trim().parse::<usize>().unwrap());
            }
        }
        body.clear();
        body.resize(length.expect("content-length"), 0);
        self.reader.read_exact(body).unwrap();
        code
    }
}

/// `next_after` and `has_more` from the end of a feed page, without parsing
/// the events (a connector would parse them; both sides skip that here).
fn page_tail(body: &[u8]) -> (i64, bool) {
    let text = std::str::from_utf8(&body[body.len().saturating_sub(64)..]).unwrap();
    let at = text.rfind("\"next_after\":").unwrap() + "\"next_after\":".len();
    let rest = &text[at..];
    let end = rest.find(',').unwrap();
    (rest[..end].parse().unwrap(), rest.contains("true"))
}

#[tokio::main]
async fn main() {
    let items: usize = std::env::var("SLUICE_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("erp.csv");
    generate(
        std::io::BufWriter::new(std::fs::File::create(&file).unwrap()),
        GenerateOptions {
            items,
            variants: true,
            messy: false,
            seed: 42,
        },
    )
    .unwrap();
    let state = sluice::app::prepare(config(dir.path())).await.unwrap();
    let now = state.clock.now();
    sluice::schema_code::apply(
        &state.db,
        &Actor::system("bench"),
        &bench_schema(),
        false,
        false,
        now,
    )
    .await
    .unwrap();
    sluice::import::profiles::seed_demo(&state.db, now)
        .await
        .unwrap();
    let job =
        sluice::import::cli::import_file(&state, &file, "erp-items", Mode::Upsert, "bench", false)
            .await
            .unwrap();
    assert_eq!(job.status, Status::Succeeded, "{:?}", job.message);
    sqlx::query("UPDATE products SET enabled = TRUE")
        .execute(state.db.pool())
        .await
        .unwrap();

    // Publish: the publisher follows the change log from the start.
    let started = Instant::now();
    let round = sluice::publish::worker::drain(&state).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let events = count(&state, "SELECT COUNT(*) AS n FROM feed_events").await;
    let sellable = count(
        &state,
        "SELECT COUNT(*) AS n FROM products WHERE kind <> 'model'",
    )
    .await;
    let bytes = count(
        &state,
        "SELECT COALESCE(SUM(LENGTH(payload)), 0) AS n FROM feed_events",
    )
    .await;
    println!(
        "publish   {} products judged ({} sellable) in {seconds:.2} s = {:.0} products/s; {} feed events ({:.0} events/s), payloads {:.1} MB, avg {} bytes",
        round.products,
        sellable,
        round.products as f64 / seconds,
        events,
        events as f64 / seconds,
        bytes as f64 / 1e6,
        bytes / events.max(1),
    );
    assert_eq!(events, sellable, "every sellable product published once");
    let started = Instant::now();
    let again = sluice::publish::publisher::republish_all(
        &state.db,
        &state.schema.get(&state.db).await.unwrap(),
        &state.config.public_url,
        CHANNEL,
        state.clock.now(),
    )
    .await
    .unwrap();
    println!(
        "republish all, nothing changed: {} products in {:.2} s, {} events",
        again.products,
        started.elapsed().as_secs_f64(),
        again.events
    );
    assert_eq!(again.events, 0, "an identical payload publishes nothing");

    // The feed's own cost, without HTTP: read and concatenate each page.
    let started = Instant::now();
    let (mut after, mut read) = (0_i64, 0_usize);
    loop {
        let page = sluice::publish::feed::page(&state.db, CHANNEL, after, 1000)
            .await
            .unwrap();
        if page.events == 0 {
            break;
        }
        read += page.events;
        after = page.next_after;
    }
    let direct = started.elapsed().as_secs_f64();
    println!(
        "feed read {read} events without HTTP in {direct:.2} s = {:.0} products/s",
        read as f64 / direct
    );

    // Drain over HTTP with 1000-event pages.
    sluice::auth::users::create(
        &state.db,
        &Actor::system("bench"),
        sluice::auth::users::NewUser {
            email: "connector@bench.local".to_owned(),
            name: "Connector".to_owned(),
            roles: sluice::auth::Roles::new([sluice::auth::Role::Viewer]).unwrap(),
            password: "a long bench password".to_owned(),
        },
        now,
    )
    .await
    .unwrap();
    let token = sluice::auth::tokens::create(
        &state.db,
        &Actor::system("bench"),
        "bench connector",
        "connector@bench.local",
        Scopes::parse_list(&format!("feed:{CHANNEL}")).unwrap(),
        now,
    )
    .await
    .unwrap()
    .secret;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let router = sluice::app::build_router(state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let pages_dir = std::env::var("SLUICE_BENCH_STATIC_DIR")
        .map_or_else(|_| dir.path().join("static"), std::path::PathBuf::from);
    std::fs::create_dir_all(&pages_dir).unwrap();
    let feed_addr = addr.clone();
    let pages_out = pages_dir.clone();
    let (feed_seconds, feed_bytes, pages, drained) = tokio::task::spawn_blocking(move || {
        let mut client = Client::connect(&feed_addr);
        let mut body = Vec::new();
        // Warm-up page (connection, token check caches).
        client.get(
            &format!("/api/v1/channels/{CHANNEL}/feed?after=0&limit=1"),
            Some(&token),
            &mut body,
        );
        let started = Instant::now();
        let (mut after, mut total, mut pages, mut drained) = (0_i64, 0_usize, 0_usize, 0_i64);
        let mut kept: Vec<Vec<u8>> = Vec::new();
        loop {
            client.get(
                &format!("/api/v1/channels/{CHANNEL}/feed?after={after}&limit=1000"),
                Some(&token),
                &mut body,
            );
            total += body.len();
            let (next, more) = page_tail(&body);
            drained += next - after;
            pages += 1;
            // Keep the very bytes for the static side (written after timing).
            kept.push(std::mem::take(&mut body));
            after = next;
            if !more {
                break;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        for (i, page) in kept.iter().enumerate() {
            std::fs::write(pages_out.join(format!("page-{}.json", i + 1)), page).unwrap();
        }
        (seconds, total, pages, drained)
    })
    .await
    .unwrap();
    println!(
        "feed      {drained} events in {pages} pages of ≤1000, {:.1} MB in {feed_seconds:.2} s = {:.0} products/s ({:.0} MB/s)",
        feed_bytes as f64 / 1e6,
        drained as f64 / feed_seconds,
        feed_bytes as f64 / 1e6 / feed_seconds,
    );

    // The same bytes as static files: the external server if given, else
    // an in-process server reading each file from disk per request.
    let static_addr = match std::env::var("SLUICE_BENCH_STATIC_URL") {
        Ok(url) => url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned(),
        Err(_) => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let folder = pages_dir.clone();
            let app = axum::Router::new().route(
                "/{name}",
                axum::routing::get(
                    move |axum::extract::Path(name): axum::extract::Path<String>| {
                        let folder = folder.clone();
                        async move { tokio::fs::read(folder.join(name)).await.unwrap() }
                    },
                ),
            );
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            addr
        }
    };
    println!(
        "static    pages written to {} (serve this folder to compare with another server)",
        pages_dir.display()
    );
    let (static_seconds, static_bytes) = tokio::task::spawn_blocking(move || {
        let mut client = Client::connect(&static_addr);
        let mut body = Vec::new();
        client.get("/page-1.json", None, &mut body);
        let started = Instant::now();
        let mut total = 0;
        for page in 1..=pages {
            client.get(&format!("/page-{page}.json"), None, &mut body);
            total += body.len();
        }
        (started.elapsed().as_secs_f64(), total)
    })
    .await
    .unwrap();
    assert_eq!(static_bytes, feed_bytes, "the same bytes on both sides");
    println!(
        "static    the same {:.1} MB in {pages} files in {static_seconds:.2} s = {:.0} products/s ({:.0} MB/s)",
        static_bytes as f64 / 1e6,
        drained as f64 / static_seconds,
        static_bytes as f64 / 1e6 / static_seconds,
    );
    println!(
        "ratio     feed / static = {:.2} (above 1: the feed is faster)",
        static_seconds / feed_seconds
    );

    approval_latency(&state, &addr).await;
}

/// Approve → event visible in the feed, with the publisher worker running
/// as in a server (woken by the approval's request, its tick as configured):
/// an editor proposes a new name for each of `SLUICE_BENCH_APPROVALS`
/// products (200 by default; not timed), then an approver approves them one
/// by one over HTTP while a connector polls the feed for the product.
async fn approval_latency(state: &AppState, addr: &str) {
    let approvals: usize = std::env::var("SLUICE_BENCH_APPROVALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let now = state.clock.now();
    let mut tokens = Vec::new();
    for (email, role, scopes) in [
        (
            "editor@bench.local",
            sluice::auth::Role::Editor,
            "catalog:read catalog:write",
        ),
        (
            "approver@bench.local",
            sluice::auth::Role::Approver,
            "catalog:read catalog:write",
        ),
        ("reader@bench.local", sluice::auth::Role::Viewer, "feed:*"),
    ] {
        sluice::auth::users::create(
            &state.db,
            &Actor::system("bench"),
            sluice::auth::users::NewUser {
                email: email.to_owned(),
                name: String::new(),
                roles: sluice::auth::Roles::new([role]).unwrap(),
                password: "a long bench password".to_owned(),
            },
            now,
        )
        .await
        .unwrap();
        let token = sluice::auth::tokens::create(
            &state.db,
            &Actor::system("bench"),
            "bench",
            email,
            Scopes::parse_list(scopes).unwrap(),
            now,
        )
        .await
        .unwrap()
        .secret;
        tokens.push(token);
    }
    let skus: Vec<String> = sqlx::query(
        "SELECT p.sku FROM products p JOIN publications pb ON pb.product_id = p.id \
         WHERE pb.channel = $1 AND pb.state = 'published' AND p.kind = 'simple' \
         ORDER BY p.sku LIMIT $2",
    )
    .bind(CHANNEL)
    .bind(i64::try_from(approvals).unwrap())
    .fetch_all(state.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|row| row.try_get("sku").unwrap())
    .collect();
    let head = sluice::publish::feed::head(&state.db, CHANNEL)
        .await
        .unwrap();
    let publisher = sluice::publish::worker::spawn(state.services.clone());
    let addr = addr.to_owned();
    let tick = state.config.publish_tick;
    let mut latencies = tokio::task::spawn_blocking(move || {
        let [editor, approver, reader] = [&tokens[0], &tokens[1], &tokens[2]];
        let mut client = Client::connect(&addr);
        let mut body = Vec::new();
        let mut proposals = Vec::new();
        for (n, sku) in skus.iter().enumerate() {
            let status = client.send(
                "GET",
                &format!("/api/v1/products/{sku}"),
                Some(editor),
                &[],
                "",
                &mut body,
            );
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            let product: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let tag = format!("\"{}\"", product["version"]);
            let change = serde_json::json!({"values": {"name": [
                {"locale": "en_US", "channel": null, "data": format!("Renamed item {n}")}
            ]}})
            .to_string();
            let status = client.send(
                "PATCH",
                &format!("/api/v1/products/{sku}"),
                Some(editor),
                &[("If-Match", &tag)],
                &change,
                &mut body,
            );
            assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
            let proposal: serde_json::Value = serde_json::from_slice(&body).unwrap();
            proposals.push((sku.clone(), proposal["id"].as_i64().unwrap()));
        }
        let mut after = head;
        let mut latencies = Vec::with_capacity(proposals.len());
        for (sku, id) in proposals {
            let started = Instant::now();
            let status = client.send(
                "POST",
                &format!("/api/v1/proposals/{id}/approve"),
                Some(approver),
                &[],
                "",
                &mut body,
            );
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            let wanted = format!("\"sku\":\"{sku}\"");
            loop {
                client.get(
                    &format!("/api/v1/channels/{CHANNEL}/feed?after={after}&limit=1000"),
                    Some(reader),
                    &mut body,
                );
                let (next, _) = page_tail(&body);
                let seen = std::str::from_utf8(&body).unwrap().contains(&wanted);
                after = next;
                if seen {
                    break;
                }
                assert!(
                    started.elapsed().as_secs() < 60,
                    "{sku} never reached the feed"
                );
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        latencies
    })
    .await
    .unwrap();
    publisher.abort();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "approval  approve → event in the feed over HTTP, {} approvals, publisher worker running (tick {} ms): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        latencies.len(),
        tick.as_millis(),
        at(0.5),
        at(0.95),
        at(1.0),
    );
}
