//! Demo seeding for `sluice demo`: one user per role, with passwords that
//! are random on every run unless `SLUICE_DEMO_PASSWORD` sets them, and a
//! demo catalog — the schema in `catalog.toml` (locales, channels `web`,
//! `google`, `shopify`, attributes, families, categories) and a few hundred
//! products from [`products`], and the mapping profile `erp-items` that
//! reads `sluice generate-erp` output. After the demo ERP import ([`erp`]),
//! [`states`] leaves every channel with published, held and not ready
//! products and proposals waiting for review.
//!
//! Seeding twice changes nothing but the passwords: the schema is applied
//! only to a folder that has none yet (so the demo never reverts what an
//! admin changed since; `sluice schema apply` does that on purpose), and
//! products are created only while the catalog holds none; the profile is
//! stored only while there is none of that code.

pub mod erp;
pub mod media;
pub mod products;
pub mod states;

use rand::Rng;
use rand::distributions::Alphanumeric;

use crate::audit::Actor;
use crate::auth::users::{self, NewUser};
use crate::auth::{AuthError, Role, Roles};
use crate::catalog::schema::Schema;
use crate::catalog::store;
use crate::db::{Clock, Db};
use crate::import::profiles::{self, ProfileError};
use crate::schema_code::{self, SchemaError};
use crate::workflow::write::WriteError;

/// The demo catalog schema, in the format of `sluice schema export`.
pub const CATALOG_TOML: &str = include_str!("catalog.toml");

/// A demo login to print.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub roles: Roles,
}

const DEMO_USERS: [(&str, &str, Role); 4] = [
    ("admin@sluice.local", "Ada Admin", Role::Admin),
    ("editor@sluice.local", "Eddie Editor", Role::Editor),
    ("approver@sluice.local", "April Approver", Role::Approver),
    ("viewer@sluice.local", "Vic Viewer", Role::Viewer),
];

pub fn random_password() -> String {
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

/// Creates the demo users, or gives existing ones a fresh password.
pub async fn seed_users(
    db: &Db,
    clock: &Clock,
    fixed_password: Option<&str>,
) -> Result<Vec<DemoLogin>, AuthError> {
    let actor = Actor::system("sluice demo");
    let mut logins = Vec::new();
    for (email, name, role) in DEMO_USERS {
        let password = fixed_password.map_or_else(random_password, str::to_owned);
        let roles = Roles::new([role])?;
        match users::find_by_email(db, email).await? {
            Some(user) => {
                users::set_password(db, &actor, user.id, password.clone(), None, clock.now())
                    .await?;
            }
            None => {
                users::create(
                    db,
                    &actor,
                    NewUser {
                        email: email.to_owned(),
                        name: name.to_owned(),
                        roles: roles.clone(),
                        password: password.clone(),
                    },
                    clock.now(),
                )
                .await?;
            }
        }
        logins.push(DemoLogin {
            email: email.to_owned(),
            password,
            roles,
        });
    }
    Ok(logins)
}

/// The demo catalog schema, parsed.
pub fn catalog_schema() -> Result<Schema, SchemaError> {
    schema_code::parse(CATALOG_TOML)
}

/// What the catalog holds after [`seed_catalog`], and what this run added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSeed {
    /// Schema steps applied by this run (0 when the folder had a schema).
    pub schema_steps: usize,
    /// Steps by which a stored schema differs from the demo schema; the
    /// demo leaves such a schema as it is.
    pub schema_drift: usize,
    pub channels: usize,
    pub attributes: usize,
    pub families: usize,
    pub categories: usize,
    /// Products created by this run.
    pub products_created: usize,
    /// Products in the catalog.
    pub products: usize,
}

/// Why the demo catalog could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot apply the demo schema: {0}")]
    Schema(#[from] SchemaError),
    #[error("cannot create the demo products: {0}")]
    Products(#[from] WriteError),
    #[error("the demo product tables (products.toml) do not parse: {0}")]
    Tables(#[from] toml::de::Error),
    #[error("cannot store the demo mapping profile: {0}")]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Seeds the demo catalog: applies the demo schema to a folder without a
/// schema, then creates the demo products if there are no products yet.
pub async fn seed_catalog(db: &Db, clock: &Clock) -> Result<CatalogSeed, SeedError> {
    let desired = catalog_schema()?;
    let current = store::load_schema(db.pool()).await?;
    let (schema_steps, schema_drift) = if current == Schema::default() {
        let applied = schema_code::apply(
            db,
            &Actor::system("sluice demo"),
            &desired,
            false,
            false,
            clock.now(),
        )
        .await?;
        (applied.plan.steps.len(), 0)
    } else {
        (0, schema_code::plan(&current, &desired).steps.len())
    };
    let schema = store::load_schema(db.pool()).await?;
    let products_created = products::seed_products(db, &schema, clock).await?;
    match profiles::seed_demo(db, clock.now()).await {
        Ok(_) => {}
        // A schema an admin changed may no longer fit the demo profile: the
        // demo goes on without it rather than fail.
        Err(ProfileError::Invalid(problems)) => tracing::warn!(
            profile.problems = problems.join("; "),
            "the demo mapping profile erp-items does not fit the stored schema; not stored"
        ),
        Err(err) => return Err(err.into()),
    }
    let products = store::product_count(db.pool()).await?;
    Ok(CatalogSeed {
        schema_steps,
        schema_drift,
        channels: schema.channels.len(),
        attributes: schema.attributes.len(),
        families: schema.families.len(),
        categories: schema.categories.len(),
        products_created,
        products: usize::try_from(products).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;
    use crate::db::DatabaseUrl;
    use crate::workflow::proposals;

    #[test]
    fn the_demo_schema_passes_every_check() {
        let schema = catalog_schema().expect("catalog.toml parses");
        assert_eq!(schema_code::check(&schema), Vec::<String>::new());
        assert_eq!(schema.channels.len(), 3);
        assert_eq!(schema.families.len(), 3);
        assert!(
            schema.attributes.len() >= 40,
            "{} attributes",
            schema.attributes.len()
        );
    }

    /// Small demo pictures: the unoptimized test build draws them pixel by pixel.
    const TEST_PICTURE_SIDE: u32 = 256;

    #[tokio::test]
    async fn seeding_twice_adds_nothing_the_second_time() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = DatabaseUrl::new(format!(
            "sqlite://{}",
            dir.path().join("sluice.db").display()
        ));
        let db = Db::connect(&url, 1).await.expect("connect");
        db.migrate(&url).await.expect("migrate");
        let clock = Clock::system();

        let first = seed_catalog(&db, &clock).await.expect("first seed");
        assert!(first.schema_steps > 0);
        assert!(first.products_created >= 300, "{first:?}");
        assert_eq!(first.products, first.products_created);

        let second = seed_catalog(&db, &clock).await.expect("second seed");
        assert_eq!(second.schema_steps, 0);
        assert_eq!(second.schema_drift, 0);
        assert_eq!(second.products_created, 0);
        assert_eq!(second.products, first.products);

        // The demo profile is stored once, checked against the demo schema.
        let stored = profiles::list(db.pool()).await.expect("profiles");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].profile.code, "erp-items");
        assert_eq!(stored[0].toml, profiles::DEMO_PROFILE);
        assert!(
            !profiles::seed_demo(&db, clock.now())
                .await
                .expect("seed again")
        );

        // Applying the demo schema again plans nothing.
        let desired = catalog_schema().expect("parses");
        let again = schema_code::apply(
            &db,
            &Actor::system("test"),
            &desired,
            false,
            true,
            clock.now(),
        )
        .await
        .expect("plan");
        assert!(again.plan.is_empty(), "{}", again.plan);

        let media = crate::media::Media::new(
            crate::media::MediaStore::open("memory://").expect("memory store"),
            crate::media::MediaLimits {
                max_bytes: 1 << 20,
                max_pixels: 1 << 22,
            },
            "http://127.0.0.1:8080",
        );
        let images = media::seed_images(&db, &media, &clock, TEST_PICTURE_SIDE)
            .await
            .expect("images")
            .expect("seeded once");
        assert!(images.linked > 100, "{images:?}");
        assert!(
            media::seed_images(&db, &media, &clock, TEST_PICTURE_SIDE)
                .await
                .expect("again")
                .is_none()
        );

        // Mixed on purpose: most products are ready on each channel, some are not.
        crate::publish::worker::catch_up(
            &db,
            &store::SchemaCache::default(),
            &clock,
            "http://127.0.0.1:8080",
        )
        .await
        .expect("publisher catches up");
        for channel in ["web", "google", "shopify"] {
            let row = sqlx::query(
                "SELECT COUNT(DISTINCT product_id) AS total, \
                 COUNT(DISTINCT CASE WHEN missing_count > 0 THEN product_id END) AS incomplete \
                 FROM product_readiness WHERE channel = $1",
            )
            .bind(channel)
            .fetch_one(db.pool())
            .await
            .expect("readiness");
            let incomplete: i64 = row.try_get("incomplete").expect("incomplete");
            let total: i64 = row.try_get("total").expect("total");
            assert_eq!(
                usize::try_from(total).ok(),
                Some(first.products),
                "{channel}"
            );
            assert!(
                incomplete * 2 < total,
                "{channel}: {incomplete} of {total} incomplete"
            );
            if channel != "shopify" {
                assert!(incomplete > 0, "{channel}: every product is complete");
            }
        }
        db.close().await;
    }

    async fn count(db: &Db, sql: &'static str, channel: &str) -> i64 {
        sqlx::query(sql)
            .bind(channel)
            .fetch_one(db.pool())
            .await
            .expect("count")
            .try_get("n")
            .expect("n")
    }

    async fn totals(db: &Db) -> (i64, i64, i64) {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM proposals) AS proposals, \
             (SELECT COUNT(*) FROM feed_events) AS events, \
             (SELECT COUNT(*) FROM product_versions) AS versions",
        )
        .fetch_one(db.pool())
        .await
        .expect("totals");
        (
            row.try_get("proposals").expect("proposals"),
            row.try_get("events").expect("events"),
            row.try_get("versions").expect("versions"),
        )
    }

    /// The whole `sluice demo` sequence, in the order main.rs runs it.
    async fn run_demo(state: &crate::services::Services) -> Option<states::Staged> {
        seed_users(&state.db, &state.clock, Some("demo-password-1234"))
            .await
            .expect("users");
        seed_catalog(&state.db, &state.clock)
            .await
            .expect("catalog");
        erp::import_once(state).await.expect("ERP import");
        media::seed_images(&state.db, &state.media, &state.clock, TEST_PICTURE_SIDE)
            .await
            .expect("images");
        states::stage_once(
            &state.db,
            &state.schema,
            &state.clock,
            &state.config.public_url,
        )
        .await
        .expect("states")
    }

    #[tokio::test]
    async fn the_demo_ends_in_every_state_a_new_user_should_see() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().display().to_string();
        let config = crate::config::Config::from_sources(None, &|name| {
            (name == "SLUICE_DATA_DIR").then(|| data_dir.clone())
        })
        .expect("config");
        let state = crate::services::Services::prepare(config)
            .await
            .expect("prepare");

        let staged = run_demo(&state).await.expect("staged the first time");
        let db = &state.db;
        for channel in ["web", "google", "shopify"] {
            let published = count(
                db,
                "SELECT COUNT(*) AS n FROM publications WHERE channel = $1 AND state = 'published'",
                channel,
            )
            .await;
            let held = count(
                db,
                "SELECT COUNT(*) AS n FROM publications WHERE channel = $1 AND state = 'held' \
                 AND reasons IS NOT NULL AND reasons <> '[]' AND reasons <> ''",
                channel,
            )
            .await;
            // Not ready and never published: not merely held.
            let not_ready = count(
                db,
                "SELECT COUNT(DISTINCT r.product_id) AS n FROM product_readiness r \
                 JOIN products p ON p.id = r.product_id AND p.kind <> 'model' \
                 WHERE r.channel = $1 AND r.ready = 0 AND NOT EXISTS (SELECT 1 FROM publications pb \
                 WHERE pb.channel = r.channel AND pb.product_id = r.product_id)",
                channel,
            )
            .await;
            assert!(published > 0, "{channel}: nothing published");
            assert!(held > 0, "{channel}: nothing held with a reason");
            assert!(not_ready > 0, "{channel}: everything is ready");
            let figures = staged
                .channels
                .iter()
                .find(|c| c.channel == channel)
                .expect("figures");
            assert_eq!((figures.published, figures.held), (published, held));
            assert!(
                figures.not_ready >= not_ready + held,
                "{channel}: {figures:?}"
            );
        }
        // The web hold is German copy: the other channels still sell that product.
        let web_only = staged
            .holds
            .iter()
            .find(|h| h.channels == ["web"])
            .expect("a web-only hold");
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) AS n FROM publications WHERE sku = $1 AND state = 'published'",
                &web_only.sku,
            )
            .await,
            2
        );
        let waiting = count(
            db,
            "SELECT COUNT(*) AS n FROM proposals WHERE status = 'submitted' AND author_label = $1",
            "editor@sluice.local",
        )
        .await;
        assert!(waiting >= 3, "{waiting} proposals waiting");
        assert_eq!(usize::try_from(waiting).ok(), Some(staged.proposals.len()));
        assert!(staged.summary().contains(" held, "), "{}", staged.summary());

        // Running the demo again stages nothing and changes nothing.
        let before = totals(db).await;
        assert!(run_demo(&state).await.is_none());
        crate::publish::worker::drain(&state).await.expect("drain");
        assert_eq!(totals(db).await, before);

        // Approving the German copy puts the held product back on the web shop.
        let fix = proposals::list(
            db,
            &proposals::ProposalFilter {
                sku: Some(web_only.sku.clone()),
                statuses: vec![proposals::Status::Submitted],
                limit: 10,
                ..proposals::ProposalFilter::default()
            },
        )
        .await
        .expect("proposals");
        let [fix] = fix.as_slice() else {
            panic!("one proposal for {}: {fix:?}", web_only.sku);
        };
        let approver = users::find_by_email(db, "approver@sluice.local")
            .await
            .expect("find")
            .expect("approver");
        let caller = crate::auth::Caller {
            user: approver,
            credential: crate::auth::Credential::Session,
        };
        let schema = state.schema.get(db).await.expect("schema");
        proposals::approve(db, &schema, &caller, fix.id, None, false, state.clock.now())
            .await
            .expect("approve");
        crate::publish::worker::drain(&state).await.expect("drain");
        let web = crate::publish::feed::snapshot(db, "web", &web_only.sku)
            .await
            .expect("snapshot")
            .expect("on web");
        assert_eq!(web.state, "published", "{:?}", web.reasons);
        state.db.close().await;
    }
}
