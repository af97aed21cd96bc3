//! Sluice: the governed product-data layer between an ERP and the sales channels.

/// The composition root: prepare, spawn the workers, build the router, serve.
pub mod app;
/// The audit log of logins, user and token changes and, later, every governed action.
pub mod audit;
/// Users, roles, passwords, sessions, API tokens and the one permission check.
pub mod auth;
/// Locales, channels, attributes, families, categories, products and validation.
pub mod catalog;
/// Configuration from defaults, `sluice.toml` and `SLUICE_*` variables.
pub mod config;
/// Database backends, pools, migrations and timestamps.
pub mod db;
/// Demo users and data for `sluice demo`.
pub mod demo;
/// Shared domain error pieces (`FieldError`); no HTTP here (see `web::error`).
pub mod error;
/// ERP import: the synthetic ERP export so far; profiles and jobs follow.
pub mod import;
/// Background jobs (republishing a channel): queue, leases, progress, the worker.
pub mod jobs;
/// Media (DAM): assets in object storage, their review, renditions per preset.
pub mod media;
/// Readiness, the publisher, feeds and channel formats.
pub mod publish;
/// Schema as code: export, plan and apply a desired schema (and mapping
/// profiles); above the catalog, the write path and imports, which it orchestrates.
pub mod schema_code;
/// What workers and commands run on: database, clock, config, schema cache,
/// worker handles.
pub mod services;
/// HTTP: pages, API, middleware, static files, metrics, `AppState`.
pub mod web;
/// The single write path, product history and (later) proposals and review.
pub mod workflow;
