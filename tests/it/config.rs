//! Startup: a bad configuration stops with one clear line, never a panic;
//! the CLI creates users and tokens.

use std::process::Command;

use axum::http::StatusCode;

use crate::TestApp;

/// Runs the real binary with only the given SLUICE_* variables.
fn sluice(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("SLUICE_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let output = command.output().expect("run sluice");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_one_clear_line(stderr: &str, expected: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(lines[0].starts_with("sluice: "), "{stderr}");
    assert!(lines[0].contains(expected), "{expected:?} not in {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unknown_database_scheme_stops_startup() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let (code, _, stderr) = sluice(
        &["migrate"],
        &[
            ("SLUICE_DATA_DIR", &data),
            ("SLUICE_DATABASE_URL", "mysql://db/sluice"),
        ],
    );
    assert_eq!(code, 1);
    assert_one_clear_line(&stderr, "unknown scheme");
}

#[test]
fn unreachable_postgres_stops_startup_without_leaking_the_password() {
    // The data folder is created on either backend: not in the working copy.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let (code, _, stderr) = sluice(
        &["serve"],
        &[
            ("SLUICE_DATA_DIR", &data),
            (
                "SLUICE_DATABASE_URL",
                "postgres://sluice:hunter2@127.0.0.1:1/sluice",
            ),
        ],
    );
    assert_eq!(code, 1);
    assert_one_clear_line(
        &stderr,
        "cannot open database postgres://sluice:***@127.0.0.1:1/sluice",
    );
    assert!(!stderr.contains("hunter2"));
}

#[test]
fn unusable_data_folder_stops_startup() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let (code, _, stderr) = sluice(
        &["migrate"],
        &[("SLUICE_DATA_DIR", &file.display().to_string())],
    );
    assert_eq!(code, 1);
    assert_one_clear_line(&stderr, "data folder");
}

#[test]
fn bad_settings_and_config_files_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let (code, _, stderr) = sluice(
        &["serve"],
        &[("SLUICE_DATA_DIR", &data), ("SLUICE_BIND", "everywhere")],
    );
    assert_eq!(code, 1);
    assert_one_clear_line(&stderr, "SLUICE_BIND");
    let toml = dir.path().join("sluice.toml");
    std::fs::write(
        &toml,
        "bind = \"127.0.0.1:0\"\ndatabse_url = \"sqlite://x\"\n",
    )
    .unwrap();
    let (code, _, stderr) = sluice(
        &["serve"],
        &[
            ("SLUICE_DATA_DIR", &data),
            ("SLUICE_CONFIG", &toml.display().to_string()),
        ],
    );
    assert_eq!(code, 1);
    assert_one_clear_line(&stderr, "databse_url");
}

#[test]
fn cli_adds_users_and_prints_only_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let env = [
        ("SLUICE_DATA_DIR", data.as_str()),
        ("SLUICE_PASSWORD", "a long cli password"),
    ];
    let (code, stdout, stderr) = sluice(
        &[
            "user",
            "add",
            "ops@example.com",
            "--role",
            "viewer",
            "--role",
            "editor",
            "--name",
            "Ops",
        ],
        &env,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    let (code, _, stderr) = sluice(
        &["user", "add", "ops@example.com", "--role", "viewer"],
        &env,
    );
    assert_eq!(code, 1);
    assert_one_clear_line(&stderr, "already exists");
    let (code, _, stderr) = sluice(&["user", "add", "x@example.com", "--role", "wizard"], &env);
    assert_ne!(code, 0);
    assert!(stderr.contains("unknown role"), "{stderr}");

    let (code, stdout, stderr) = sluice(
        &[
            "token",
            "create",
            "erp",
            "--user",
            "ops@example.com",
            "--scope",
            "import",
            "--scope",
            "catalog:read",
        ],
        &env,
    );
    assert_eq!(code, 0, "{stderr}");
    let token = stdout.trim_end_matches('\n');
    assert!(
        token.starts_with("slc_") && token.len() == 68 && !token.contains('\n'),
        "{stdout:?}"
    );

    let (code, _, stderr) = sluice(
        &[
            "token",
            "create",
            "too-much",
            "--user",
            "ops@example.com",
            "--scope",
            "admin",
        ],
        &env,
    );
    assert_eq!(code, 1);
    assert_one_clear_line(&stderr, "never allow the scope admin");
}

crate::db_tests!(demo_seeding_is_repeatable);

async fn demo_seeding_is_repeatable(app: TestApp) {
    let first = sluice::demo::seed_users(app.db(), app.clock(), None)
        .await
        .unwrap();
    assert_eq!(first.len(), 4);
    assert_ne!(first[0].password, first[1].password, "random passwords");
    let second = sluice::demo::seed_users(app.db(), app.clock(), Some("fixed demo password"))
        .await
        .unwrap();
    assert_eq!(sluice::auth::users::list(app.db()).await.unwrap().len(), 4);
    let admin = app.client();
    let response = admin.login(&second[0].email, "fixed demo password").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.client()
            .login(&first[0].email, &first[0].password)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn serve_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SLUICE_") {
            command.env_remove(key);
        }
    }
    let child = command
        .arg("serve")
        .env("SLUICE_DATA_DIR", dir.path())
        .env("SLUICE_BIND", &bind)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start sluice serve");
    // Wait until it answers /healthz.
    let mut up = false;
    for _ in 0..100 {
        if let Ok(mut stream) = std::net::TcpStream::connect(&bind) {
            use std::io::{Read, Write};
            let _ =
                stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                up = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "sluice serve did not come up on {bind}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    assert!(stderr.contains("sluice stopped"), "{stderr}");
}

#[test]
fn schema_export_and_apply_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let env = [("SLUICE_DATA_DIR", data.as_str())];
    let file = dir.path().join("catalog.toml");
    std::fs::write(&file, include_str!("fixtures/catalog.toml")).unwrap();
    let path = file.display().to_string();

    let (code, stdout, stderr) = sluice(&["schema", "apply", &path, "--dry-run"], &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("+ attribute name") && stdout.contains("Dry run"),
        "{stdout}"
    );
    let (code, stdout, _) = sluice(&["schema", "apply", &path], &env);
    assert_eq!(code, 0);
    assert!(stdout.contains("Applied."), "{stdout}");
    let (code, stdout, _) = sluice(&["schema", "apply", &path], &env);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("No changes"),
        "second apply plans nothing: {stdout}"
    );

    let (code, exported, _) = sluice(&["schema", "export"], &env);
    assert_eq!(code, 0);
    std::fs::write(&file, &exported).unwrap();
    let (_, stdout, _) = sluice(&["schema", "apply", &path], &env);
    assert!(
        stdout.contains("No changes"),
        "export round-trips: {stdout}"
    );

    let broken = exported.replacen("group = \"marketing\"", "group = \"nowhere\"", 1);
    std::fs::write(&file, broken).unwrap();
    let (code, _, stderr) = sluice(&["schema", "apply", &path], &env);
    assert_eq!(code, 1);
    assert!(stderr.contains("unknown group nowhere"), "{stderr}");
    std::fs::write(&file, "[[attributes]\nbroken").unwrap();
    let (code, _, stderr) = sluice(&["schema", "apply", &path], &env);
    assert_eq!(code, 1);
    assert!(stderr.contains("not valid TOML"), "{stderr}");
}

#[test]
fn generate_erp_writes_the_export_it_promises() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let out = dir.path().join("items.csv");
    let path = out.display().to_string();
    let (code, _, stderr) = sluice(
        &["generate-erp", "--items", "250", "--variants", "-o", &path],
        &[("SLUICE_DATA_DIR", &data)],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("wrote 250 rows"), "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("item_code,item_name,item_group,variant_of"));
    assert_eq!(text.lines().count(), 251);
    let (code, _, stderr) = sluice(
        &["generate-erp", "--items", "100", "--messy", "-o", &path],
        &[("SLUICE_DATA_DIR", &data)],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        std::fs::read(&out)
            .unwrap()
            .starts_with("\u{feff}item_code;".as_bytes())
    );
    let (code, _, stderr) = sluice(
        &[
            "generate-erp",
            "--items",
            "10",
            "-o",
            "/nonexistent-dir/x.csv",
        ],
        &[("SLUICE_DATA_DIR", &data)],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("cannot write /nonexistent-dir/x.csv"),
        "{stderr}"
    );
}
