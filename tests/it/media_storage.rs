//! The media store's contract, the same on every backend: object_store's
//! in-memory store, a local folder, and S3 (a local S3-compatible server,
//! moto in CI). The S3 tests are `#[ignore]`d unless asked for; asked for
//! without `SLUICE_TEST_S3_URL` they fail, never pass.

use bytes::Bytes;
use http_body_util::Full;
use sluice::db::Timestamp;
use sluice::media::MediaStore;

pub const S3_ENV: &str = "SLUICE_TEST_S3_URL";

/// What every store must do.
async fn contract(store: &MediaStore) {
    // Missing keys: nothing, not an error.
    assert_eq!(store.get("originals/00/missing").await.expect("get"), None);
    assert!(!store.exists("originals/00/missing").await.expect("exists"));
    store
        .delete("originals/00/missing")
        .await
        .expect("deleting a missing key is fine");

    // Put, read back, overwrite.
    let key = "originals/ab/abcdef";
    store
        .put_atomic(key, Bytes::from_static(b"first"))
        .await
        .expect("put");
    assert!(store.exists(key).await.expect("exists"));
    assert_eq!(
        store.get(key).await.expect("get"),
        Some(Bytes::from_static(b"first"))
    );
    store
        .put_atomic(key, Bytes::from_static(b"second, longer"))
        .await
        .expect("overwrite");
    assert_eq!(
        store.get(key).await.expect("get"),
        Some(Bytes::from_static(b"second, longer"))
    );

    // A deeper key, and an empty file.
    let deep = "renditions/ab/abcdef/thumbnail-1234.webp";
    store
        .put_atomic(deep, Bytes::from_static(b"webp"))
        .await
        .expect("put deep");
    store
        .put_atomic("originals/ab/empty", Bytes::new())
        .await
        .expect("put empty");
    assert_eq!(
        store.get("originals/ab/empty").await.expect("get"),
        Some(Bytes::new())
    );

    // Every write was renamed away from its temporary key.
    assert_eq!(
        store.keys("").await.expect("keys"),
        vec![
            "originals/ab/abcdef".to_owned(),
            "originals/ab/empty".to_owned(),
            deep.to_owned()
        ]
    );
    assert_eq!(
        store.keys("renditions").await.expect("keys"),
        vec![deep.to_owned()]
    );
    let later = Timestamp::from_offset(time::OffsetDateTime::now_utc() + time::Duration::hours(2));
    assert!(
        store
            .stale_temporary(later)
            .await
            .expect("list tmp")
            .is_empty()
    );

    // Delete.
    store.delete(key).await.expect("delete");
    assert_eq!(store.get(key).await.expect("get"), None);
    assert!(!store.exists(key).await.expect("exists"));
    store.delete(deep).await.expect("delete");
    store.delete("originals/ab/empty").await.expect("delete");
    assert!(store.keys("").await.expect("keys").is_empty());
}

#[tokio::test]
async fn memory_store_keeps_the_contract() {
    let store = MediaStore::open("memory://").expect("memory store");
    contract(&store).await;
}

#[tokio::test]
async fn folder_store_keeps_the_contract() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", dir.path().join("media").display());
    let store = MediaStore::open(&url).expect("folder store");
    contract(&store).await;
}

#[tokio::test]
async fn a_failed_rename_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", dir.path().display());
    let store = MediaStore::open(&url).expect("folder store");
    store
        .put_atomic("blocker", Bytes::from_static(b"a file, not a folder"))
        .await
        .expect("put");
    // `blocker` is a file, so nothing can be renamed to `blocker/inside`.
    let refused = store
        .put_atomic("blocker/inside", Bytes::from_static(b"x"))
        .await
        .expect_err("the rename fails");
    assert!(
        refused.to_string().contains("media storage failed"),
        "{refused}"
    );
    assert_eq!(store.keys("").await.expect("keys"), vec!["blocker"]);
    assert!(!dir.path().join("tmp").exists() || is_empty(&dir.path().join("tmp")));
}

fn is_empty(folder: &std::path::Path) -> bool {
    std::fs::read_dir(folder).map_or(true, |mut entries| entries.next().is_none())
}

#[tokio::test]
async fn temporary_files_a_crash_left_are_swept_after_an_hour() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", dir.path().display());
    let store = MediaStore::open(&url).expect("folder store");
    std::fs::create_dir_all(dir.path().join("tmp")).expect("tmp");
    std::fs::write(dir.path().join("tmp/left-by-a-crash"), b"half").expect("write");
    store
        .put_atomic("originals/kept", Bytes::from_static(b"kept"))
        .await
        .expect("put");
    let now = time::OffsetDateTime::now_utc();
    let an_hour_ago = Timestamp::from_offset(now - time::Duration::hours(1));
    // Young: perhaps a write in flight.
    assert!(
        store
            .stale_temporary(an_hour_ago)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(store.sweep_temporary(an_hour_ago).await.expect("sweep"), 0);
    // An hour and more later it is stale.
    let later = Timestamp::from_offset(now + time::Duration::minutes(61));
    assert_eq!(
        store.stale_temporary(later).await.expect("list"),
        vec!["tmp/left-by-a-crash"]
    );
    assert_eq!(store.sweep_temporary(later).await.expect("sweep"), 1);
    assert_eq!(store.keys("").await.expect("keys"), vec!["originals/kept"]);
}

#[test]
fn bad_media_urls_are_refused_with_a_reason() {
    let no_bucket = MediaStore::open("s3:///prefix").expect_err("no bucket");
    assert!(
        no_bucket.to_string().contains("names no bucket"),
        "{no_bucket}"
    );
    let option = MediaStore::open_with_env("s3://b/p?colour=blue", &mut std::iter::empty())
        .expect_err("unknown option");
    assert!(
        option.to_string().contains("colour is not an S3 option"),
        "{option}"
    );
    let scheme = MediaStore::open("ftp://host/media").expect_err("scheme");
    assert!(
        scheme.to_string().contains("is not a media URL"),
        "{scheme}"
    );
}

#[test]
fn s3_settings_come_from_the_environment_and_the_url_hides_secrets() {
    let mut env = vec![
        ("AWS_REGION".to_owned(), "eu-west-1".to_owned()),
        ("AWS_ACCESS_KEY_ID".to_owned(), "from-env".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "env-secret".to_owned()),
        (
            "AWS_ENDPOINT_URL".to_owned(),
            "http://s3.local:9000".to_owned(),
        ),
        ("AWS_ALLOW_HTTP".to_owned(), "true".to_owned()),
        // Not an S3 setting: left alone.
        ("AWS_PAGER".to_owned(), String::new()),
        ("HOME".to_owned(), "/root".to_owned()),
    ]
    .into_iter();
    let store = MediaStore::open_with_env(
        "s3://media/shop/?secret_access_key=url-secret&region=us-east-1",
        &mut env,
    )
    .expect("s3 store");
    assert_eq!(
        store.describe(),
        "s3://media/shop/?secret_access_key=***&region=us-east-1"
    );
    assert!(!format!("{store:?}").contains("url-secret"));
}

/// The S3 test server's base URL; panics when it is not set, because an S3
/// test that was asked for must not pass without running.
pub fn s3_base() -> String {
    std::env::var(S3_ENV).unwrap_or_else(|_| {
        panic!("{S3_ENV} is not set: S3 tests need an S3-compatible server (e.g. moto_server on http://127.0.0.1:5000)")
    })
}

/// A bucket of its own on the test server, removed with everything in it
/// by [`TestBucket::remove`].
pub struct TestBucket {
    pub base: String,
    pub name: String,
}

impl TestBucket {
    pub async fn create() -> TestBucket {
        let base = s3_base().trim_end_matches('/').to_owned();
        let name = format!("sluice-test-{}", uuid::Uuid::new_v4().simple());
        let status = s3_request("PUT", &format!("{base}/{name}")).await;
        assert!(status.is_success(), "creating bucket {name}: {status}");
        TestBucket { base, name }
    }

    /// The media URL of `prefix` in this bucket, with test credentials (the
    /// server does not check them; object_store must sign anyway).
    pub fn url(&self, prefix: &str) -> String {
        format!(
            "s3://{}/{prefix}?endpoint={}&allow_http=true&region=us-east-1&access_key_id=sluice-test&secret_access_key=sluice-test",
            self.name, self.base
        )
    }

    /// Deletes every object, then the bucket.
    pub async fn remove(self) {
        let store = MediaStore::open_with_env(&self.url(""), &mut std::iter::empty())
            .expect("store of the whole bucket");
        for key in store.keys("").await.expect("keys") {
            store.delete(&key).await.expect("delete");
        }
        let status = s3_request("DELETE", &format!("{}/{}", self.base, self.name)).await;
        assert!(
            status.is_success(),
            "deleting bucket {}: {status}",
            self.name
        );
    }
}

async fn s3_request(method: &str, url: &str) -> axum::http::StatusCode {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let request = axum::http::Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(Bytes::new()))
        .expect("request");
    client
        .request(request)
        .await
        .unwrap_or_else(|err| panic!("{S3_ENV} is set but the S3 server is unreachable: {err}"))
        .status()
}

#[tokio::test]
#[ignore = "S3: run with SLUICE_TEST_S3_URL=http://127.0.0.1:5000 (moto_server) and -- --ignored"]
async fn s3_store_keeps_the_contract() {
    let bucket = TestBucket::create().await;
    let store = MediaStore::open_with_env(&bucket.url("shop/media"), &mut std::iter::empty())
        .expect("s3 store");
    assert!(
        !store.describe().contains("sluice-test&"),
        "{}",
        store.describe()
    );
    contract(&store).await;

    // A prefix is a store of its own: neighbours in the bucket do not mix.
    let other = MediaStore::open_with_env(&bucket.url("other"), &mut std::iter::empty())
        .expect("second prefix");
    store
        .put_atomic("originals/aa/one", Bytes::from_static(b"one"))
        .await
        .expect("put");
    other
        .put_atomic("originals/aa/one", Bytes::from_static(b"other"))
        .await
        .expect("put");
    assert_eq!(
        store.get("originals/aa/one").await.expect("get"),
        Some(Bytes::from_static(b"one"))
    );
    assert_eq!(
        other.get("originals/aa/one").await.expect("get"),
        Some(Bytes::from_static(b"other"))
    );
    let whole =
        MediaStore::open_with_env(&bucket.url(""), &mut std::iter::empty()).expect("whole bucket");
    assert_eq!(
        whole.keys("").await.expect("keys"),
        vec!["other/originals/aa/one", "shop/media/originals/aa/one"]
    );
    bucket.remove().await;
}

/// The S3 round trip: the app, its media on the test server, stores an
/// upload (original under the prefix), its renditions are made and read
/// back, and a second upload of the same bytes stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "S3: run with SLUICE_TEST_S3_URL=http://127.0.0.1:5000 (moto_server) and -- --ignored"]
async fn s3_round_trip_through_the_app() {
    let bucket = TestBucket::create().await;
    let url = bucket.url("sluice/media");
    let app = crate::TestApp::sqlite_with(&[("SLUICE_MEDIA_URL", &url)]).await;
    let media = &app.state.media;
    assert!(
        media.store.describe().starts_with("s3://"),
        "{:?}",
        media.store
    );
    let actor = sluice::audit::Actor::system("test");
    let photo = crate::media_ingest::jpeg(640, 480, [180, 40, 40]);
    let uploaded = sluice::media::upload::upload(
        app.db(),
        media,
        &actor,
        "boot.jpg",
        Bytes::from(photo.clone()),
        &[],
        app.clock().now(),
    )
    .await
    .expect("upload to S3");
    assert!(uploaded.created);
    let asset = uploaded.asset;
    assert_eq!(
        media.store.get(&asset.original_key()).await.expect("get"),
        Some(Bytes::from(photo.clone()))
    );

    let made = sluice::media::renditions::drain(app.db(), media, &app.state.schema, app.clock())
        .await
        .expect("renditions on S3");
    assert_eq!(made, 1);
    let schema = app.state.schema.get(app.db()).await.expect("schema");
    let preset = schema.preset("thumbnail").expect("thumbnail preset");
    let (rendition, bytes) =
        sluice::media::renditions::get_or_make(app.db(), media, &asset, &preset, app.clock().now())
            .await
            .expect("rendition");
    let decoded = image::load_from_memory(&bytes).expect("the rendition is an image");
    assert_eq!(
        (i64::from(decoded.width()), i64::from(decoded.height())),
        (rendition.width, rendition.height)
    );
    assert!(decoded.width() < 640);

    // Everything under the prefix, nothing left under tmp/.
    let whole =
        MediaStore::open_with_env(&bucket.url(""), &mut std::iter::empty()).expect("whole bucket");
    let keys = whole.keys("").await.expect("keys");
    assert!(
        keys.iter().all(|k| k.starts_with("sluice/media/")),
        "{keys:?}"
    );
    assert!(!keys.iter().any(|k| k.contains("/tmp/")), "{keys:?}");
    assert!(keys.contains(&format!("sluice/media/{}", asset.original_key())));
    assert!(keys.contains(&format!("sluice/media/{}", rendition.object_key)));

    let again = sluice::media::upload::upload(
        app.db(),
        media,
        &actor,
        "boot-copy.jpg",
        Bytes::from(photo),
        &[],
        app.clock().now(),
    )
    .await
    .expect("second upload");
    assert!(!again.created);
    assert_eq!(again.asset.id, asset.id);
    assert_eq!(whole.keys("").await.expect("keys").len(), keys.len());
    drop(app);
    bucket.remove().await;
}
