//! Every page a person reaches, at a phone's width (390 × 844): nothing may
//! be wider than the window (`document.documentElement.scrollWidth <=
//! window.innerWidth`); wide tables scroll inside their card. The catalog is
//! the demo's (`sluice demo`): real names, a JSON-LD preview, hundreds of
//! products, held and not-ready ones, proposals and an import.

use serde_json::{Value, json};
use sluice::audit::Actor;
use sluice::jobs::Task;
use sqlx::Row;

use super::BrowserTest;
use crate::TestApp;

crate::browser_tests!(every_page_fits_a_phone);

const PHONE: (u32, u32) = (390, 844);
const DEMO_PASSWORD: &str = "phone width demo password";

/// What overflows the window, outermost first: the elements whose right edge
/// passes it (unless a scrolling box clips them), described with their
/// width, and the widest of the innermost ones (the cause, usually).
const OVERFLOW: &str = r#"
const vw = window.innerWidth;
const sw = document.documentElement.scrollWidth;
if (sw <= vw) return { scrollWidth: sw, innerWidth: vw, culprits: [] };
const scrolls = el => {
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    if (getComputedStyle(a).overflowX !== 'visible') return true;
  }
  return false;
};
const over = new Set([...document.body.querySelectorAll('*')].filter(el => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.right > vw + 0.5 && !scrolls(el);
}));
const describe = el => {
  const r = el.getBoundingClientRect();
  const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + [...el.classList].map(c => '.' + c).join('');
  const text = (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40);
  return `${name} ${Math.round(r.width)} px wide, right edge at ${Math.round(r.right)} px "${text}"`;
};
const right = el => el.getBoundingClientRect().right;
const outer = [...over].filter(el => !over.has(el.parentElement)).sort((a, b) => right(b) - right(a));
const inner = [...over].filter(el => ![...el.children].some(c => over.has(c)))
  .sort((a, b) => b.getBoundingClientRect().width - a.getBoundingClientRect().width);
return {
  scrollWidth: sw,
  innerWidth: vw,
  culprits: outer.slice(0, 3).map(describe).concat(inner.slice(0, 1).map(el => 'widest inside: ' + describe(el))),
};
"#;

/// The demo catalog, with its import finished and its publishing states staged.
async fn seed_demo(app: &TestApp) {
    sluice::demo::seed_users(app.db(), app.clock(), Some(DEMO_PASSWORD))
        .await
        .expect("demo users");
    sluice::demo::seed_catalog(app.db(), app.clock())
        .await
        .expect("demo catalog");
    sluice::demo::erp::import_once(&app.state)
        .await
        .expect("demo import");
    // The served app's import worker may have taken the job: wait for it.
    for _ in 0..300 {
        if first(
            app,
            "SELECT COUNT(*) AS n FROM import_jobs WHERE status IN ('queued', 'running')",
        )
        .await
            == Some("0".to_owned())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Small pictures: the test build draws them pixel by pixel.
    sluice::demo::media::seed_images(app.db(), &app.state.media, app.clock(), 256)
        .await
        .expect("demo images");
    sluice::demo::states::stage_once(
        app.db(),
        &app.state.schema,
        app.clock(),
        &app.state.config.public_url,
    )
    .await
    .expect("demo states");
}

/// The first column of the first row of `sql`, as text.
async fn first(app: &TestApp, sql: &'static str) -> Option<String> {
    let row = sqlx::query(sql)
        .fetch_optional(app.db().pool())
        .await
        .expect("query")?;
    row.try_get::<String, _>(0)
        .ok()
        .or_else(|| row.try_get::<i64, _>(0).ok().map(|n| n.to_string()))
}

async fn must(app: &TestApp, sql: &'static str) -> String {
    first(app, sql)
        .await
        .unwrap_or_else(|| panic!("the demo has a row for {sql}"))
}

/// Every page a signed-in admin reaches, by path.
async fn pages(app: &TestApp) -> Vec<String> {
    let simple = must(
        app,
        "SELECT sku FROM products WHERE kind = 'simple' ORDER BY id LIMIT 1",
    )
    .await;
    let model = must(
        app,
        "SELECT sku FROM products WHERE kind = 'model' ORDER BY id LIMIT 1",
    )
    .await;
    let variant = must(
        app,
        "SELECT sku FROM products WHERE kind = 'variant' ORDER BY id LIMIT 1",
    )
    .await;
    let proposal = must(app, "SELECT id FROM proposals ORDER BY id LIMIT 1").await;
    let import = must(app, "SELECT id FROM import_jobs ORDER BY id LIMIT 1").await;
    let user = must(app, "SELECT id FROM users ORDER BY id LIMIT 1").await;
    let asset = must(app, "SELECT id FROM assets ORDER BY id LIMIT 1").await;
    let job = app
        .state
        .queue_job(
            &Task::Republish {
                channel: "web".to_owned(),
            },
            &Actor::system("test"),
        )
        .await
        .expect("a republish job")
        .id;
    let schema = app.state.schema.get(app.db()).await.expect("schema");
    let attribute = schema
        .attributes
        .iter()
        .max_by_key(|a| a.options.len())
        .expect("an attribute")
        .code
        .clone();
    let family = schema.families.first().expect("a family").code.clone();
    let category = schema.categories.last().expect("a category").code.clone();
    let channel = schema.channels.first().expect("a channel").code.clone();
    let mut pages: Vec<String> = [
        "/",
        "/products",
        "/products?q=shirt",
        "/proposals",
        "/imports",
        "/channels",
        "/audit",
        "/account",
        "/media",
        "/settings/users",
        "/settings/tokens",
        "/settings/attributes",
        "/settings/attributes/new",
        "/settings/families",
        "/settings/families/new",
        "/settings/categories",
        "/settings/categories/new",
        "/settings/channels",
        "/settings/channels/new",
        "/settings/profiles",
        "/settings/profiles/new",
        "/settings/profiles/erp-items",
        "/settings/schema",
        "/products/NO-SUCH-SKU",
        "/no/such/page",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    pages.extend([
        format!("/products/{simple}"),
        format!("/products/{model}"),
        format!("/products/{variant}"),
        format!("/proposals/{proposal}"),
        format!("/imports/{import}"),
        format!("/channels/{channel}"),
        format!("/jobs/{job}"),
        format!("/media/{asset}"),
        format!("/settings/users/{user}"),
        format!("/settings/attributes/{attribute}"),
        format!("/settings/families/{family}"),
        format!("/settings/categories/{category}"),
        format!("/settings/channels/{channel}"),
    ]);
    pages
}

/// The pages an editor works in (an admin may not edit the catalog, so
/// sees the product page's read view): the product form of each kind and
/// both steps of creating a product.
async fn editor_pages(app: &TestApp) -> Vec<String> {
    let mut pages = Vec::new();
    for kind in ["simple", "model", "variant"] {
        let sql = match kind {
            "simple" => "SELECT sku FROM products WHERE kind = 'simple' ORDER BY id LIMIT 1",
            "model" => "SELECT sku FROM products WHERE kind = 'model' ORDER BY id LIMIT 1",
            _ => "SELECT sku FROM products WHERE kind = 'variant' ORDER BY id LIMIT 1",
        };
        pages.push(format!("/products/{}", must(app, sql).await));
    }
    let schema = app.state.schema.get(app.db()).await.expect("schema");
    let with_axes = schema
        .families
        .iter()
        .find(|f| !f.variant_axes.is_empty())
        .expect("a family with variant axes");
    pages.push("/products/new".to_owned());
    pages.push(format!(
        "/products/new?family={}&kind=variant",
        with_axes.code
    ));
    pages
}

async fn every_page_fits_a_phone(test: BrowserTest) {
    seed_demo(&test.app).await;
    let pages = pages(&test.app).await;
    let editor_pages = editor_pages(&test.app).await;

    // `SLUICE_TEST_SCREENSHOTS=1` keeps a picture of every page, for
    // people comparing layouts.
    let pictures = std::env::var_os("SLUICE_TEST_SCREENSHOTS")
        .map(|_| super::driver::artifacts_dir("phone-width-pages"));
    if let Some(folder) = &pictures {
        std::fs::create_dir_all(folder).expect("screenshot folder");
    }
    let mut measured = Vec::new();
    for (who, email, pages) in [
        ("admin", "admin@sluice.local", pages),
        ("editor", "editor@sluice.local", editor_pages),
    ] {
        let browser = test.browser(&format!("{who}-phone")).await;
        browser.resize(PHONE.0, PHONE.1).await;
        // Signed out first: the login page.
        let all = std::iter::once("/login".to_owned()).chain(pages);
        for (n, page) in all.enumerate() {
            if n == 1 {
                browser.sign_in(email, DEMO_PASSWORD).await;
            }
            browser.goto(&page).await;
            if let Some(folder) = &pictures {
                let name: String = page
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                let picture = browser.screenshot().await;
                std::fs::write(folder.join(format!("{who}-{n:02}{name}.png")), picture)
                    .expect("keep screenshot");
            }
            measured.push((
                format!("{page} ({who})"),
                browser.js(OVERFLOW, vec![]).await,
            ));
        }
    }
    // The same stylesheet at a desktop's width: rules after a media query
    // still apply (an unclosed `@media` block once scoped every later rule,
    // the charts' colours among them, to narrow screens).
    let desktop = test.browser("admin-desktop").await;
    desktop.sign_in("admin@sluice.local", DEMO_PASSWORD).await;
    for page in ["/", "/channels/web"] {
        desktop.goto(page).await;
        let fills = desktop
            .js(
                "return Array.from(document.querySelectorAll('svg.stacked-bar rect.seg-ready'))\
                 .map(r => getComputedStyle(r).fill);",
                vec![],
            )
            .await;
        let fills = fills.as_array().cloned().unwrap_or_default();
        assert!(
            !fills.is_empty(),
            "{page}: a readiness bar with ready products"
        );
        for fill in fills {
            assert_eq!(
                fill,
                json!("rgb(45, 164, 78)"),
                "{page}: the ready segment's colour"
            );
        }
    }

    assert_eq!(
        measured[0].1["innerWidth"],
        json!(PHONE.0),
        "the window is a phone's width"
    );

    let mut too_wide = Vec::new();
    for (page, found) in &measured {
        let width = found["scrollWidth"].as_i64().unwrap_or_default();
        println!("390 px: {page}: {width} px");
        if found["culprits"].as_array().is_some_and(|c| !c.is_empty()) {
            let culprits: Vec<&str> = found["culprits"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            too_wide.push(format!(
                "{page}: {width} px wide in a {} px window\n    {}",
                found["innerWidth"],
                culprits.join("\n    ")
            ));
        }
    }
    assert!(
        too_wide.is_empty(),
        "{} of {} pages are wider than a phone:\n{}",
        too_wide.len(),
        measured.len(),
        too_wide.join("\n")
    );
}
