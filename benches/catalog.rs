//! Catalog figures on SQLite: write-path throughput (create and update with
//! validation, history, completeness and change log), and server-side
//! latency of the product grid and product page through the real router.
//!
//! `cargo bench --bench catalog`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use serde_json::json;
use sluice::audit::Actor;
use sluice::auth::users::{self, NewUser};
use sluice::auth::{Role, Roles};
use sluice::catalog::product::{ProductKind, ValueKey};
use sluice::config::Config;
use sluice::workflow::write::{self, ChangeSet, NewProduct, ValueChange, Writer};
use tower::ServiceExt;

/// The same allocator as the `sluice` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXTRA_PRODUCTS: usize = 10_000;
const BRAND: &str = "kestrel";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn session_cookie(router: &Router) -> String {
    let login_page = router
        .clone()
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let csrf_cookie = login_page.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = csrf_cookie.split_once('=').unwrap().1.to_owned();
    let login = router
        .clone()
        .oneshot(
            Request::post("/login")
                .header(header::COOKIE, &csrf_cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf_token={token}&email=bench%40example.com&password=correct+horse+battery+staple")))
                .unwrap(),
        )
        .await
        .unwrap();
    login.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn measure(router: &Router, session: &str, label: &str, path: &str, runs: usize) {
    let mut timings = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let response = router
            .clone()
            .oneshot(
                Request::get(path)
                    .header(header::COOKIE, session)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let _ = response.into_body().collect().await.unwrap();
        timings.push(started.elapsed());
    }
    timings.sort();
    println!(
        "{label:<46} p50 {:>6.2} ms   p95 {:>6.2} ms   ({runs} requests)",
        ms(percentile(&timings, 0.50)),
        ms(percentile(&timings, 0.95))
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<&str, String> =
        HashMap::from([("SLUICE_DATA_DIR", dir.path().display().to_string())]);
    let config = Config::from_sources(None, &|name| env.get(name).cloned()).unwrap();
    let state = sluice::app::prepare(config).await.unwrap();
    let started = Instant::now();
    let seed = sluice::demo::seed_catalog(&state.db, &state.clock)
        .await
        .unwrap();
    println!(
        "demo catalog: {} products seeded in {:.2} s",
        seed.products_created,
        started.elapsed().as_secs_f64()
    );

    // Write path throughput: simple products with 8 values each, one transaction per product.
    let schema = sluice::catalog::store::load_schema(state.db.pool())
        .await
        .unwrap();
    let writer = Writer::System(Actor::system("bench"));
    let started = Instant::now();
    for n in 0..EXTRA_PRODUCTS {
        let values = vec![
            ("name", Some("en_US"), json!(format!("Bench gadget {n}"))),
            ("name", Some("de_DE"), json!(format!("Testgerät {n}"))),
            ("brand", None, json!(BRAND)),
            ("power_watts", None, json!(format!("{}", 5 + n % 200))),
            (
                "base_price",
                None,
                json!([{"amount": format!("{}.99", 10 + n % 90), "currency": "USD"}]),
            ),
            ("stock", None, json!(format!("{}", n % 50))),
            (
                "weight",
                None,
                json!({"amount": "0.35", "unit": "KILOGRAM"}),
            ),
            ("is_new", None, json!(n % 3 == 0)),
        ];
        write::create(
            &state.db,
            &schema,
            &writer,
            NewProduct {
                sku: format!("BENCH-{n:06}"),
                kind: ProductKind::Simple,
                family: "electronics".into(),
                parent: None,
                enabled: true,
                categories: vec!["audio".into()],
                values: values
                    .into_iter()
                    .filter(|(attribute, ..)| schema.attribute(attribute).is_some())
                    .map(|(attribute, locale, data)| ValueChange {
                        key: ValueKey::new(attribute, locale, None),
                        data: Some(data),
                    })
                    .collect(),
            },
            state.clock.now(),
        )
        .await
        .unwrap_or_else(|err| panic!("create BENCH-{n}: {err}"));
    }
    let elapsed = started.elapsed();
    println!(
        "write path, create: {EXTRA_PRODUCTS} products in {:.2} s = {:.0} products/s (one transaction each)",
        elapsed.as_secs_f64(),
        EXTRA_PRODUCTS as f64 / elapsed.as_secs_f64()
    );
    let started = Instant::now();
    for n in 0..2_000 {
        let changes = ChangeSet {
            values: vec![ValueChange {
                key: ValueKey::new("stock", None, None),
                data: Some(json!(format!("{}", 100 + n))),
            }],
            ..ChangeSet::default()
        };
        write::update(
            &state.db,
            &schema,
            &writer,
            &format!("BENCH-{n:06}"),
            None,
            &changes,
            state.clock.now(),
        )
        .await
        .unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "write path, update one value: 2000 in {:.2} s = {:.0} updates/s",
        elapsed.as_secs_f64(),
        2000.0 / elapsed.as_secs_f64()
    );

    users::create(
        &state.db,
        &Actor::system("bench"),
        NewUser {
            email: "bench@example.com".into(),
            name: "Bench".into(),
            roles: Roles::new([Role::Admin, Role::Editor]).unwrap(),
            password: "correct horse battery staple".into(),
        },
        state.clock.now(),
    )
    .await
    .unwrap();
    let router = sluice::app::build_router(state.clone());
    let session = session_cookie(&router).await;
    let total = seed.products_created + EXTRA_PRODUCTS;
    println!("server-side latency with {total} products (SQLite):");
    measure(&router, &session, "grid, first page", "/products", 300).await;
    measure(
        &router,
        &session,
        "grid, family=apparel&kind=variant",
        "/products?family=apparel&kind=variant",
        300,
    )
    .await;
    measure(
        &router,
        &session,
        "grid, missing=web",
        "/products?missing=web",
        300,
    )
    .await;
    measure(
        &router,
        &session,
        "grid, category=audio, sort -updated",
        "/products?category=audio&sort=-updated",
        300,
    )
    .await;
    measure(
        &router,
        &session,
        "grid, sku prefix BENCH-0099",
        "/products?sku=BENCH-0099",
        300,
    )
    .await;
    measure(
        &router,
        &session,
        "product page, model APP-1001",
        "/products/APP-1001",
        300,
    )
    .await;
    let variant = sluice::catalog::store::list(
        &state.db,
        &sluice::catalog::store::ProductFilter {
            kind: Some(ProductKind::Variant),
            ..Default::default()
        },
        sluice::catalog::store::ProductSort::SkuAsc,
        None,
        1,
    )
    .await
    .unwrap()
    .products[0]
        .product
        .sku
        .clone();
    measure(
        &router,
        &session,
        "product page, variant",
        &format!("/products/{variant}"),
        300,
    )
    .await;
    measure(
        &router,
        &session,
        "product page, simple",
        "/products/BENCH-000123",
        300,
    )
    .await;
}
