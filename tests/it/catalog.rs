//! The catalog: products through the API and the pages, the single write
//! path's rules (owner, family, level, version), values of every type,
//! history and the change log, keyset pagination, and schema as code.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::catalog::product::{ProductKind, ValueKey};
use sluice::schema_code;
use sluice::workflow::write::{self, NewProduct, ValueChange, Writer};

use crate::TestApp;
use crate::harness::set_values;
use crate::seed::new_product;

crate::db_tests!(
    every_type_accepts_good_values_and_names_bad_ones,
    variants_inherit_and_keep_to_their_level,
    axis_combinations_are_unique_within_a_model,
    family_membership_is_enforced,
    if_match_is_required_and_stale_versions_refused,
    people_never_write_erp_owned_values,
    history_and_change_log_record_each_version_once,
    keyset_pagination_is_stable_under_inserts,
    schema_apply_is_idempotent_and_guards_destructive_changes,
    schema_api_reads_for_all_and_writes_for_admins,
    product_pages_edit_and_refuse_stale_forms,
    grid_filters_by_family_category_kind_and_missing,
);

fn value(data: Value) -> Value {
    json!([{"locale": null, "channel": null, "data": data}])
}

fn localized(locale: &str, data: Value) -> Value {
    json!([{"locale": locale, "channel": null, "data": data}])
}

async fn editor_token(app: &TestApp) -> String {
    app.user_token(&[Role::Editor], "catalog:read catalog:write")
        .await
}

/// Creates a product as the system (which may write ERP-owned values).
async fn system_create(
    app: &TestApp,
    sku: &str,
    kind: ProductKind,
    family: &str,
    parent: Option<&str>,
    values: &[(&str, Option<&str>, Value)],
) {
    let schema = app.schema().await;
    let product = NewProduct {
        values: set_values(values.iter().cloned()),
        ..new_product(sku, kind, family, parent)
    };
    app.create_as_system(&schema, product).await;
}

/// Approves a proposal (answer 202 of a PATCH) with a fresh approver's token.
async fn approve(app: &TestApp, proposal: &crate::TestResponse) -> crate::TestResponse {
    assert_eq!(proposal.status, StatusCode::ACCEPTED, "{}", proposal.body);
    let id = proposal.json()["id"].as_i64().unwrap();
    let approver = app
        .user_token(&[Role::Approver], "catalog:read catalog:write")
        .await;
    app.api_json(
        Method::POST,
        &format!("/api/v1/proposals/{id}/approve"),
        &approver,
        None,
        &[],
    )
    .await
}

/// Creates a product through the API. A person's reviewed values wait in a
/// proposal; these catalog tests are about the catalog, so an approver
/// approves it at once and the answer is the product as approved.
async fn create(app: &TestApp, token: &str, mut body: Value) -> crate::TestResponse {
    // Created disabled unless the test says otherwise: enabling is reviewed too.
    if body.get("enabled").is_none()
        && let Some(object) = body.as_object_mut()
    {
        object.insert("enabled".into(), Value::Bool(false));
    }
    let created = app
        .api_json(Method::POST, "/api/v1/products", token, Some(body), &[])
        .await;
    let Some(pending) = (created.status == StatusCode::CREATED)
        .then(|| created.json()["pending_proposal"].as_i64())
        .flatten()
    else {
        return created;
    };
    let approver = app
        .user_token(&[Role::Approver], "catalog:read catalog:write")
        .await;
    let approved = app
        .api_json(
            Method::POST,
            &format!("/api/v1/proposals/{pending}/approve"),
            &approver,
            None,
            &[],
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let sku = created.json()["sku"].as_str().unwrap().to_owned();
    let mut product = app
        .api(Method::GET, &format!("/api/v1/products/{sku}"), Some(token))
        .await;
    product.status = StatusCode::CREATED;
    product
}

async fn patch(
    app: &TestApp,
    token: &str,
    sku: &str,
    version: i64,
    body: Value,
) -> crate::TestResponse {
    let tag = format!("\"{version}\"");
    app.api_json(
        Method::PATCH,
        &format!("/api/v1/products/{sku}"),
        token,
        Some(body),
        &[("if-match", &tag)],
    )
    .await
}

async fn every_type_accepts_good_values_and_names_bad_ones(app: TestApp) {
    app.seed_schema().await;
    let token = editor_token(&app).await;
    let good = create(
        &app,
        &token,
        json!({
            "sku": "G-1", "family": "gadgets",
            "values": {
                "name": localized("en_US", json!("Pocket radio")),
                "description": [{"locale": "en_US", "channel": "web", "data": "<p onclick=\"x()\">Small <script>alert(1)</script><strong>loud</strong></p>"}],
                "search_boost": value(json!("2.5")),
                "sale_price": value(json!([{"amount": "19.9", "currency": "USD"}, {"amount": "18", "currency": "EUR"}])),
                "manual_url": value(json!("https://example.com/manual.pdf")),
            }
        }),
    )
    .await;
    assert_eq!(good.status, StatusCode::CREATED, "{}", good.body);
    let product = good.json();
    let description = product["values"]["description"][0]["data"]
        .as_str()
        .unwrap();
    assert!(
        !description.contains("script") && !description.contains("onclick"),
        "sanitized: {description}"
    );
    assert!(description.contains("<strong>loud</strong>"));
    assert_eq!(
        product["values"]["sale_price"][0]["data"],
        json!([{"amount": "18.00", "currency": "EUR"}, {"amount": "19.90", "currency": "USD"}])
    );

    // Each bad value is refused with a message that names attribute, locale and channel.
    let cases: Vec<(&str, Value, &str)> = vec![
        ("name", localized("en_US", json!("x".repeat(41))), "41"),
        ("search_boost", value(json!("1,5")), "decimal point"),
        ("search_boost", value(json!("2.55")), "decimals"),
        ("search_boost", value(json!("11")), "10"),
        (
            "sale_price",
            value(json!([{"amount": "15.505", "currency": "USD"}])),
            "USD allows 2",
        ),
        (
            "sale_price",
            value(json!([{"amount": "15", "currency": "GBP"}])),
            "GBP",
        ),
        ("manual_url", value(json!("htp:/broken")), "web address"),
        ("manual_url", value(json!("javascript:alert(1)")), "http"),
        (
            "description",
            json!([{"locale": "en_US", "channel": "nowhere", "data": "x"}]),
            "nowhere",
        ),
        ("name", value(json!("no locale")), "locale"),
    ];
    for (attribute, values, expected) in cases {
        let response = create(
            &app,
            &token,
            json!({"sku": "G-BAD", "family": "gadgets", "values": {attribute: values}}),
        )
        .await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{attribute}: {}",
            response.body
        );
        let error = response.json();
        let detail = &error["error"]["details"][0];
        assert_eq!(detail["field"], attribute, "{error}");
        let message = detail["message"].as_str().unwrap();
        assert!(
            message.contains(expected),
            "{attribute}: {message:?} should mention {expected:?}"
        );
    }

    // Good values of the remaining types, on a model.
    let model = create(
        &app,
        &token,
        json!({"sku": "M-GOOD", "kind": "model", "family": "apparel", "values": {
            "code_name": value(json!("ABC-12")),
            "release_date": value(json!("2026-03-01")),
            "material": value(json!(["wool", "cotton"])),
            "is_new": value(json!(true)),
            "images": value(json!(["asset-1", "asset-2"])),
        }}),
    )
    .await;
    assert_eq!(model.status, StatusCode::CREATED, "{}", model.body);
    // A multiselect is a set, stored in the order of the attribute's options.
    assert_eq!(
        model.json()["values"]["material"][0]["data"],
        json!(["cotton", "wool"])
    );
    let variant = create(
        &app,
        &token,
        json!({"sku": "M-GOOD-RED-S", "kind": "variant", "family": "apparel", "parent": "M-GOOD",
               "values": {"color": value(json!("red")), "size": value(json!("s"))}}),
    )
    .await;
    assert_eq!(variant.status, StatusCode::CREATED, "{}", variant.body);
    let unknown_option = create(
        &app,
        &token,
        json!({"sku": "M-GOOD-X", "kind": "variant", "family": "apparel", "parent": "M-GOOD",
               "values": {"color": value(json!("purple")), "size": value(json!("s"))}}),
    )
    .await;
    assert_eq!(unknown_option.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown_option.body.contains("purple"),
        "{}",
        unknown_option.body
    );

    // Apparel attributes, checked on a model.
    let model_cases: Vec<(&str, Value, &str)> = vec![
        ("code_name", value(json!("abc-1")), "pattern"),
        ("release_date", value(json!("2026-02-30")), "2026-02-30"),
        ("material", value(json!(["cotton", "silk"])), "silk"),
        ("material", value(json!(["cotton", "wool", "linen"])), "2"),
        ("is_new", value(json!("yes")), "true"),
        ("images", value(json!(["a", "b", "c", "d"])), "3"),
    ];
    for (attribute, values, expected) in model_cases {
        let response = create(
            &app,
            &token,
            json!({"sku": "M-BAD", "kind": "model", "family": "apparel", "values": {attribute: values}}),
        )
        .await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{attribute}: {}",
            response.body
        );
        let message = response.json()["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.to_lowercase().contains(&expected.to_lowercase()),
            "{attribute}: {message:?} should mention {expected:?}"
        );
    }

    // ERP-owned types (gtin, measurement, price) through the system writer.
    let schema = sluice::catalog::store::load_schema(app.db().pool())
        .await
        .unwrap();
    let attempt = |attribute: &str, data: Value| {
        let schema = schema.clone();
        let attribute = attribute.to_owned();
        let db = app.db().clone();
        let now = app.clock().now();
        async move {
            write::create(
                &db,
                &schema,
                &Writer::System(Actor::system("test")),
                NewProduct {
                    sku: format!("E-{}", uuid::Uuid::new_v4().simple()),
                    kind: ProductKind::Simple,
                    family: "gadgets".into(),
                    parent: None,
                    enabled: true,
                    categories: vec![],
                    values: vec![ValueChange {
                        key: ValueKey::new(&attribute, None, None),
                        data: Some(data),
                    }],
                },
                now,
            )
            .await
        }
    };
    assert!(attempt("gtin", json!("0025000044984")).await.is_ok());
    let lost_zero = attempt("gtin", json!("25000044984"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        lost_zero.contains("GTIN 25000044984 has 11 digits; expected 8, 12, 13 or 14"),
        "{lost_zero}"
    );
    let wrong_check = attempt("gtin", json!("04083637"))
        .await
        .unwrap_err()
        .to_string();
    assert!(wrong_check.contains("check digit"), "{wrong_check}");
    assert!(
        attempt("weight", json!({"amount": "1.25", "unit": "KILOGRAM"}))
            .await
            .is_ok()
    );
    let wrong_family = attempt("weight", json!({"amount": "1", "unit": "LITER"}))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        wrong_family.contains("LITER") && wrong_family.contains("weight"),
        "{wrong_family}"
    );
    let too_precise = attempt(
        "base_price",
        json!([{"amount": "9.999", "currency": "USD"}]),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(too_precise.contains("decimals"), "{too_precise}");
}

async fn variants_inherit_and_keep_to_their_level(app: TestApp) {
    app.seed_schema().await;
    let token = editor_token(&app).await;
    let model = create(
        &app,
        &token,
        json!({"sku": "TEE", "kind": "model", "family": "apparel",
        "values": {"name": localized("en_US", json!("Tee"))}}),
    )
    .await;
    assert_eq!(model.status, StatusCode::CREATED, "{}", model.body);
    let variant = create(
        &app,
        &token,
        json!({"sku": "TEE-RED-M", "kind": "variant", "family": "apparel", "parent": "TEE",
        "values": {"color": value(json!("red")), "size": value(json!("m"))}}),
    )
    .await;
    assert_eq!(variant.status, StatusCode::CREATED, "{}", variant.body);
    let body = variant.json();
    assert_eq!(body["parent"], "TEE");
    assert_eq!(body["inherited_values"]["name"][0]["data"], "Tee");
    assert!(
        body["values"].get("name").is_none(),
        "own values hold only the variant's level"
    );

    // A variant may not set the model's shared values, nor a model the variant's.
    let response = patch(
        &app,
        &token,
        "TEE-RED-M",
        1,
        json!({"values": {"name": localized("en_US", json!("Other"))}}),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.body.contains("shared by all variants"),
        "{}",
        response.body
    );
    let response = patch(
        &app,
        &token,
        "TEE",
        2,
        json!({"values": {"color": value(json!("blue"))}}),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.body.contains("set on each variant"),
        "{}",
        response.body
    );
    // Variants need every axis, and a model parent of the same family.
    let response = create(
        &app,
        &token,
        json!({"sku": "TEE-X", "kind": "variant", "family": "apparel", "parent": "TEE",
        "values": {"color": value(json!("red"))}}),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.body.contains("size is a variant axis"),
        "{}",
        response.body
    );
    let response = create(
        &app,
        &token,
        json!({"sku": "TEE-Y", "kind": "variant", "family": "apparel",
        "values": {"color": value(json!("red")), "size": value(json!("s"))}}),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A model change reaches the variant's readiness: name is required on web.
    app.settle().await;
    let page = app
        .api(Method::GET, "/api/v1/products/TEE-RED-M", Some(&token))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let missing_web = app
        .api(
            Method::GET,
            "/api/v1/products?missing=web&kind=variant",
            Some(&token),
        )
        .await
        .json();
    assert_eq!(
        missing_web["items"].as_array().unwrap().len(),
        1,
        "de_DE name missing: {missing_web}"
    );
    let response = patch(
        &app,
        &token,
        "TEE",
        2,
        json!({"values": {"name": localized("de_DE", json!("T-Shirt"))}}),
    )
    .await;
    // Reviewed: nothing changes in master until approval.
    app.settle().await;
    let still = app
        .api(
            Method::GET,
            "/api/v1/products?missing=web&kind=variant",
            Some(&token),
        )
        .await
        .json();
    assert_eq!(still["items"].as_array().unwrap().len(), 1);
    let approved = approve(&app, &response).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.json()["status"], "approved");
    app.settle().await;
    let missing_web = app
        .api(
            Method::GET,
            "/api/v1/products?missing=web&kind=variant",
            Some(&token),
        )
        .await
        .json();
    assert_eq!(
        missing_web["items"].as_array().unwrap().len(),
        0,
        "{missing_web}"
    );
}

async fn axis_combinations_are_unique_within_a_model(app: TestApp) {
    app.seed_schema().await;
    let token = editor_token(&app).await;
    for sku in ["A", "B"] {
        let response = create(
            &app,
            &token,
            json!({"sku": sku, "kind": "model", "family": "apparel"}),
        )
        .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    }
    let red_m = json!({"color": value(json!("red")), "size": value(json!("m"))});
    let first = create(&app, &token, json!({"sku": "A-1", "kind": "variant", "family": "apparel", "parent": "A", "values": red_m})).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let twin = create(&app, &token, json!({"sku": "A-2", "kind": "variant", "family": "apparel", "parent": "A", "values": red_m})).await;
    assert_eq!(
        twin.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        twin.body
    );
    assert!(
        twin.body.contains("already has these color/size values"),
        "{}",
        twin.body
    );
    // The same combination under another model is fine.
    let other = create(&app, &token, json!({"sku": "B-1", "kind": "variant", "family": "apparel", "parent": "B", "values": red_m})).await;
    assert_eq!(other.status, StatusCode::CREATED);
    // Changing an axis into a taken combination is refused too.
    let blue = create(
        &app,
        &token,
        json!({"sku": "A-3", "kind": "variant", "family": "apparel", "parent": "A",
        "values": {"color": value(json!("blue")), "size": value(json!("m"))}}),
    )
    .await;
    assert_eq!(blue.status, StatusCode::CREATED);
    let clash = patch(
        &app,
        &token,
        "A-3",
        1,
        json!({"values": {"color": value(json!("red"))}}),
    )
    .await;
    // Color is reviewed: the clash shows when the proposal is approved.
    let clash = approve(&app, &clash).await;
    assert_eq!(
        clash.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        clash.body
    );
    // SKUs are unique case-insensitively.
    let dup = create(&app, &token, json!({"sku": "a-1", "family": "gadgets"})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    for bad in ["", "has space", &"x".repeat(65)] {
        let response = create(&app, &token, json!({"sku": bad, "family": "gadgets"})).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert_eq!(response.json()["error"]["details"][0]["field"], "sku");
    }
}

async fn family_membership_is_enforced(app: TestApp) {
    app.seed_schema().await;
    let token = editor_token(&app).await;
    let response = create(
        &app,
        &token,
        json!({"sku": "G-2", "family": "gadgets", "values": {"color": value(json!("red"))}}),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let detail = &response.json()["error"]["details"][0];
    assert_eq!(detail["field"], "color");
    assert_eq!(
        detail["message"],
        "color is not an attribute of the family gadgets"
    );
    let unknown = create(&app, &token, json!({"sku": "G-3", "family": "spaceships"})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let category = create(
        &app,
        &token,
        json!({"sku": "G-4", "family": "gadgets", "categories": ["nowhere"]}),
    )
    .await;
    assert_eq!(category.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_field = create(
        &app,
        &token,
        json!({"sku": "G-5", "family": "gadgets", "colour": "red"}),
    )
    .await;
    assert_eq!(unknown_field.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn if_match_is_required_and_stale_versions_refused(app: TestApp) {
    app.seed_schema().await;
    let token = editor_token(&app).await;
    let created = create(&app, &token, json!({"sku": "G-1", "family": "gadgets"})).await;
    assert_eq!(created.header("etag"), Some("\"1\""));
    let body = json!({"values": {"search_boost": value(json!("3"))}});
    let missing = app
        .api_json(
            Method::PATCH,
            "/api/v1/products/G-1",
            &token,
            Some(body.clone()),
            &[],
        )
        .await;
    assert_eq!(missing.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(missing.error_code(), "precondition_required");
    let ok = patch(&app, &token, "G-1", 1, body.clone()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.header("etag"), Some("\"2\""));
    let stale = patch(
        &app,
        &token,
        "G-1",
        1,
        json!({"values": {"search_boost": value(json!("4"))}}),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.error_code(), "precondition_failed");
    // Nothing was lost: the second write did not apply.
    let now = app
        .api(Method::GET, "/api/v1/products/g-1", Some(&token))
        .await;
    assert_eq!(now.json()["values"]["search_boost"][0]["data"], "3");
    // ETag and If-None-Match.
    let cached = app
        .api_json(
            Method::GET,
            "/api/v1/products/G-1",
            &token,
            None,
            &[("if-none-match", "\"2\"")],
        )
        .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    let garbage = patch_raw_if_match(&app, &token, "G-1", "not-a-tag").await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    let absent = patch(&app, &token, "NOPE", 1, json!({})).await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND);
}

async fn patch_raw_if_match(
    app: &TestApp,
    token: &str,
    sku: &str,
    tag: &str,
) -> crate::TestResponse {
    app.api_json(
        Method::PATCH,
        &format!("/api/v1/products/{sku}"),
        token,
        Some(json!({})),
        &[("if-match", tag)],
    )
    .await
}

async fn people_never_write_erp_owned_values(app: TestApp) {
    app.seed_schema().await;
    let token = editor_token(&app).await;
    let response = create(
        &app,
        &token,
        json!({"sku": "G-1", "family": "gadgets",
        "values": {"base_price": value(json!([{"amount": "10.00", "currency": "USD"}]))}}),
    )
    .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
    assert_eq!(response.error_code(), "forbidden");
    let detail = &response.json()["error"]["details"][0];
    assert_eq!(detail["field"], "base_price");
    assert_eq!(
        detail["message"],
        "base_price is owned by the ERP: it is read-only here and changes only through imports"
    );
    // Roles and scopes still apply first.
    let viewer = app.user_token(&[Role::Viewer], "catalog:read").await;
    assert!(
        app.api(Method::GET, "/api/v1/products", Some(&viewer))
            .await
            .status
            .is_success()
    );
    let refused = create(&app, &viewer, json!({"sku": "V-1", "family": "gadgets"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // An approver's catalog:write token reviews; it does not edit.
    let approver = app
        .user_token(&[Role::Approver], "catalog:read catalog:write")
        .await;
    let refused = create(&app, &approver, json!({"sku": "V-1", "family": "gadgets"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused
            .body
            .contains("your roles do not allow you to edit the catalog"),
        "{}",
        refused.body
    );
    let read_only = app.user_token(&[Role::Editor], "catalog:read").await;
    assert_eq!(
        create(&app, &read_only, json!({"sku": "V-2", "family": "gadgets"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

async fn history_and_change_log_record_each_version_once(app: TestApp) {
    app.seed_schema().await;
    let token = editor_token(&app).await;
    create(
        &app,
        &token,
        json!({"sku": "G-1", "family": "gadgets", "values": {"search_boost": value(json!("1"))}}),
    )
    .await;
    let unchanged = patch(
        &app,
        &token,
        "G-1",
        1,
        json!({"values": {"search_boost": value(json!("1"))}}),
    )
    .await;
    assert_eq!(unchanged.status, StatusCode::OK);
    assert_eq!(
        unchanged.header("etag"),
        Some("\"1\""),
        "unchanged input writes no version"
    );
    patch(
        &app,
        &token,
        "G-1",
        1,
        json!({"values": {"search_boost": {"0": 0}}}),
    )
    .await;
    let changed = patch(
        &app,
        &token,
        "G-1",
        1,
        json!({"values": {"search_boost": value(json!("2"))}, "enabled": true}),
    )
    .await;
    assert_eq!(changed.header("etag"), Some("\"2\""));
    let removed = patch(
        &app,
        &token,
        "G-1",
        2,
        json!({"values": {"search_boost": value(Value::Null)}}),
    )
    .await;
    assert_eq!(removed.status, StatusCode::OK);
    assert!(removed.json()["values"].get("search_boost").is_none());

    let history = app
        .api(Method::GET, "/api/v1/products/G-1/history", Some(&token))
        .await
        .json();
    let versions = history.as_array().unwrap();
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[0]["version"], 3);
    assert_eq!(
        versions[0]["changes"][0],
        json!({"attribute": "search_boost", "locale": null, "channel": null, "before": "2", "after": null})
    );
    // The enabled flag is reviewed: it waits in a proposal, not in master.
    assert!(
        !versions[1]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["attribute"] == "enabled")
    );
    let pending = app
        .api(
            Method::GET,
            "/api/v1/proposals?sku=G-1&status=submitted",
            Some(&token),
        )
        .await
        .json();
    assert_eq!(pending["items"][0]["changes"][0]["attribute"], "enabled");
    assert!(versions[0]["actor"].as_str().unwrap().contains("token"));

    use sqlx::Row;
    let log: Vec<(i64, i64)> = sqlx::query("SELECT seq, version FROM change_log ORDER BY seq")
        .fetch_all(app.db().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("seq"), r.get("version")))
        .collect();
    assert_eq!(
        log,
        vec![(1, 1), (2, 2), (3, 3)],
        "one gapless entry per version"
    );
}

async fn keyset_pagination_is_stable_under_inserts(app: TestApp) {
    app.seed_schema().await;
    let token = editor_token(&app).await;
    for n in (0..30).step_by(2) {
        let response = create(
            &app,
            &token,
            json!({"sku": format!("P-{n:03}"), "family": "gadgets"}),
        )
        .await;
        assert_eq!(response.status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut inserted = false;
    loop {
        let path = match &cursor {
            Some(c) => format!(
                "/api/v1/products?limit=4&cursor={}",
                url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
            ),
            None => "/api/v1/products?limit=4".to_owned(),
        };
        let page = app.api(Method::GET, &path, Some(&token)).await.json();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["sku"].as_str().unwrap().to_owned());
        }
        if !inserted {
            // Rows inserted before and after the cursor while paging.
            for sku in ["P-001", "P-027"] {
                create(&app, &token, json!({"sku": sku, "family": "gadgets"})).await;
            }
            inserted = true;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "no duplicates, in order: {seen:?}");
    assert!(
        seen.contains(&"P-027".to_owned()),
        "a row inserted ahead of the cursor appears"
    );
    assert!(
        !seen.contains(&"P-001".to_owned()),
        "a row inserted behind the cursor does not shift the pages"
    );
    assert_eq!(seen.len(), 16);
    let bad = app
        .api(Method::GET, "/api/v1/products?limit=1000", Some(&token))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = app
        .api(Method::GET, "/api/v1/products?kind=robot", Some(&token))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

async fn schema_apply_is_idempotent_and_guards_destructive_changes(app: TestApp) {
    let text = include_str!("fixtures/catalog.toml");
    let desired = schema_code::parse(text).unwrap();
    let actor = Actor::system("test");
    let first = schema_code::apply(app.db(), &actor, &desired, false, false, app.clock().now())
        .await
        .unwrap();
    assert!(first.applied && !first.plan.is_empty());
    let second = schema_code::apply(app.db(), &actor, &desired, false, false, app.clock().now())
        .await
        .unwrap();
    assert!(second.plan.is_empty(), "second plan: {}", second.plan);
    // The export round-trips.
    let exported = schema_code::export(
        &sluice::catalog::store::load_schema(app.db().pool())
            .await
            .unwrap(),
    );
    let again = schema_code::apply(
        app.db(),
        &actor,
        &schema_code::parse(&exported.unwrap()).unwrap(),
        false,
        true,
        app.clock().now(),
    )
    .await
    .unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan);

    system_create(
        &app,
        "G-1",
        ProductKind::Simple,
        "gadgets",
        None,
        &[("search_boost", None, json!("3"))],
    )
    .await;
    let mut without = desired.clone();
    without.attributes.retain(|a| a.code != "search_boost");
    for family in &mut without.families {
        family.attributes.retain(|a| a != "search_boost");
    }
    let dry = schema_code::apply(app.db(), &actor, &without, false, true, app.clock().now())
        .await
        .unwrap();
    assert!(!dry.applied);
    assert!(
        dry.plan
            .destructive()
            .iter()
            .any(|s| s.contains("search_boost")),
        "{}",
        dry.plan
    );
    let refused = schema_code::apply(app.db(), &actor, &without, false, false, app.clock().now())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("--allow-destructive"),
        "{refused}"
    );
    assert!(
        sluice::catalog::store::load_schema(app.db().pool())
            .await
            .unwrap()
            .attribute("search_boost")
            .is_some()
    );
    let allowed = schema_code::apply(app.db(), &actor, &without, true, false, app.clock().now())
        .await
        .unwrap();
    assert!(allowed.applied);
    let product = sluice::catalog::store::find(app.db().pool(), "G-1")
        .await
        .unwrap()
        .unwrap();
    assert!(!product.product.values.0.contains_key("search_boost"));
    assert_eq!(
        product.product.version, 2,
        "the removal is a version with history"
    );

    // An invalid schema names its problems.
    let mut broken = desired.clone();
    broken.attributes[0].group = "nowhere".into();
    let invalid = schema_code::apply(app.db(), &actor, &broken, false, false, app.clock().now())
        .await
        .unwrap_err();
    assert!(
        invalid.to_string().contains("unknown group nowhere"),
        "{invalid}"
    );
}

async fn schema_api_reads_for_all_and_writes_for_admins(app: TestApp) {
    app.seed_schema().await;
    let viewer = app.user_token(&[Role::Viewer], "catalog:read").await;
    let attributes = app
        .api(Method::GET, "/api/v1/attributes", Some(&viewer))
        .await;
    assert_eq!(attributes.status, StatusCode::OK);
    let name = attributes
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "name")
        .cloned()
        .unwrap();
    assert_eq!(name["type"], "text");
    assert_eq!(name["owner"], "pim");
    assert_eq!(name["lane"], "reviewed");
    assert_eq!(name["localizable"], true);
    for path in [
        "/api/v1/families",
        "/api/v1/categories",
        "/api/v1/channels",
        "/api/v1/locales",
    ] {
        let response = app.api(Method::GET, path, Some(&viewer)).await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
        assert!(!response.json().as_array().unwrap().is_empty(), "{path}");
    }
    let body = json!({"code": "fr_FR", "label": "Français"});
    let refused = app
        .api_json(
            Method::PUT,
            "/api/v1/locales/fr_FR",
            &viewer,
            Some(body.clone()),
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let admin = app.user_token(&[Role::Admin], "admin catalog:read").await;
    let created = app
        .api_json(
            Method::PUT,
            "/api/v1/locales/fr_FR",
            &admin,
            Some(body),
            &[],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.json()["applied"], true);
    let bad = app
        .api_json(Method::PUT, "/api/v1/attributes/name", &admin, Some(json!({"code": "name", "type": "text", "group": "nowhere", "owner": "pim", "lane": "fast"})), &[])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("unknown group nowhere"));
}

async fn product_pages_edit_and_refuse_stale_forms(app: TestApp) {
    app.seed_schema().await;
    system_create(
        &app,
        "G-1",
        ProductKind::Simple,
        "gadgets",
        None,
        &[
            ("name", Some("en_US"), json!("Radio")),
            (
                "base_price",
                None,
                json!([{"amount": "10.00", "currency": "USD"}]),
            ),
        ],
    )
    .await;
    let editor = app.login_as(Role::Editor).await;
    let page = editor.get("/products/G-1?locale=en_US&channel=web").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("value=\"Radio\""));
    assert!(page.body.contains("badge-erp"), "ERP values are badged");
    assert!(page.body.contains("name=\"v.base_price.USD\" type=\"text\" inputmode=\"decimal\" size=\"10\" value=\"10.00\" readonly"));

    let saved = editor
        .post_form(
            "/products/G-1?locale=en_US&channel=web",
            "/products/G-1",
            &[
                ("version", "1"),
                ("locale", "en_US"),
                ("channel", "web"),
                ("v.name", "Pocket radio"),
                ("v.search_boost", "2"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    // search_boost is fast-lane (written); name is reviewed (drafted).
    assert!(
        saved
            .location()
            .contains("notice=product_saved_and_drafted"),
        "{}",
        saved.location()
    );

    // Bad input: 422, the field's message beside it, the input kept.
    let bad = editor
        .post_form(
            "/products/G-1",
            "/products/G-1",
            &[
                ("version", "2"),
                ("locale", "en_US"),
                ("channel", "web"),
                ("v.search_boost", "1,5"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("v.search_boost-error"), "{}", bad.body);
    assert!(bad.body.contains("value=\"1,5\""));

    // Someone else saves first: the stale form is refused with the newer values.
    let token = editor_token(&app).await;
    patch(
        &app,
        &token,
        "G-1",
        2,
        json!({"values": {"search_boost": value(json!("7"))}}),
    )
    .await;
    let stale = editor
        .post_form(
            "/products/G-1",
            "/products/G-1",
            &[
                ("version", "2"),
                ("locale", "en_US"),
                ("channel", "web"),
                ("v.name", "My radio"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(
        stale.body.contains("<td class=\"after\">7</td>") || stale.body.contains("<td>7</td>"),
        "the newer value is shown"
    );
    assert!(
        stale.body.contains("value=\"My radio\""),
        "the user's input is kept"
    );
    assert!(
        stale.body.contains("name=\"version\" value=\"3\""),
        "a deliberate re-save is possible"
    );

    // A viewer sees the page but cannot save.
    let viewer = app.login_as(Role::Viewer).await;
    let read = viewer.get("/products/G-1").await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(!read.body.contains(">Save</button>"));
    let refused = viewer
        .post_form(
            "/products/G-1",
            "/products/G-1",
            &[("version", "3"), ("v.name", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        viewer.get("/products/NOPE").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn grid_filters_by_family_category_kind_and_missing(app: TestApp) {
    app.seed_schema().await;
    let token = editor_token(&app).await;
    create(&app, &token, json!({"sku": "G-1", "family": "gadgets", "enabled": true, "categories": ["electronics"],
        "values": {"name": json!([{"locale": "en_US", "channel": null, "data": "Radio"}, {"locale": "de_DE", "channel": null, "data": "Radio"}]),
                   "description": json!([{"locale": "en_US", "channel": "web", "data": "x"}, {"locale": "de_DE", "channel": null, "data": "y"}])}})).await;
    create(
        &app,
        &token,
        json!({"sku": "G-2", "family": "gadgets", "enabled": false}),
    )
    .await;
    create(
        &app,
        &token,
        json!({"sku": "M-1", "kind": "model", "family": "apparel", "enabled": true, "categories": ["shirts"]}),
    )
    .await;
    let browser = app.login_as(Role::Viewer).await;
    let all = browser.get("/products").await;
    assert_eq!(all.status, StatusCode::OK);
    for sku in ["G-1", "G-2", "M-1"] {
        assert!(all.body.contains(&format!(">{sku}</code>")), "{sku}");
    }
    let check = |query: &str, expected: &[&str]| {
        let browser = browser.clone();
        let query = query.to_owned();
        let expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        async move {
            let page = browser.get(&format!("/products?{query}")).await;
            assert_eq!(page.status, StatusCode::OK, "{query}");
            for sku in ["G-1", "G-2", "M-1"] {
                let shown = page.body.contains(&format!(">{sku}</code>"));
                assert_eq!(shown, expected.contains(&sku.to_owned()), "{query}: {sku}");
            }
        }
    };
    check("family=gadgets", &["G-1", "G-2"]).await;
    check("category=clothing", &["M-1"]).await;
    check("kind=model", &["M-1"]).await;
    check("enabled=false", &["G-2"]).await;
    app.settle().await;
    check("missing=web", &["G-2", "M-1"]).await;
    check("sku=g-", &["G-1", "G-2"]).await;
    let bad = browser.get("/products?category=nowhere").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

crate::db_tests!(
    more_destructive_schema_changes_are_caught,
    stale_schema_edits_and_writes_are_refused,
    model_changes_reach_variants_through_etag_and_change_log,
    a_single_create_is_checked_like_an_import,
    page_saves_for_a_locale_the_channel_lacks,
);

async fn more_destructive_schema_changes_are_caught(app: TestApp) {
    app.seed_schema().await;
    let token = editor_token(&app).await;
    create(&app, &token, json!({"sku": "TEE", "kind": "model", "family": "apparel",
        "values": {"description": [{"locale": "en_US", "channel": "web", "data": "web only"}],
                   "sale_price": value(json!([{"amount": "5", "currency": "EUR"}, {"amount": "6", "currency": "USD"}]))}}))
    .await;
    create(
        &app,
        &token,
        json!({"sku": "TEE-RED-S", "kind": "variant", "family": "apparel", "parent": "TEE",
        "values": {"color": value(json!("red")), "size": value(json!("s"))}}),
    )
    .await;
    let actor = Actor::system("test");
    let base = schema_code::parse(include_str!("fixtures/catalog.toml")).unwrap();
    let apply = |desired: sluice::catalog::schema::Schema, allow: bool| {
        let db = app.db().clone();
        let actor = actor.clone();
        let now = app.clock().now();
        async move { schema_code::apply(&db, &actor, &desired, allow, false, now).await }
    };

    // Removing an axis option that a variant uses is refused even when allowed.
    let mut no_red = base.clone();
    no_red
        .attributes
        .iter_mut()
        .find(|a| a.code == "color")
        .unwrap()
        .options
        .retain(|o| o.code != "red");
    let err = apply(no_red, true).await.unwrap_err().to_string();
    assert!(err.contains("color=red"), "{err}");
    // So is changing the axes of a family with products.
    let mut axes = base.clone();
    axes.families
        .iter_mut()
        .find(|f| f.code == "apparel")
        .unwrap()
        .variant_axes = vec!["color".into()];
    let err = apply(axes, true).await.unwrap_err().to_string();
    assert!(err.contains("variant axes"), "{err}");

    // Dropping an attribute from a family whose products hold it: destructive.
    let mut slimmer = base.clone();
    slimmer
        .families
        .iter_mut()
        .find(|f| f.code == "apparel")
        .unwrap()
        .attributes
        .retain(|a| a != "sale_price");
    for family in &mut slimmer.families {
        family
            .requirements
            .values_mut()
            .for_each(|r| r.retain(|a| a != "sale_price"));
    }
    let err = apply(slimmer.clone(), false).await.unwrap_err().to_string();
    assert!(err.contains("sale_price"), "{err}");
    // Deleting a currency with prices in it: destructive; allowed, the prices go with history.
    let mut no_eur = base.clone();
    no_eur.currencies.retain(|c| c.code != "EUR");
    no_eur
        .channels
        .iter_mut()
        .for_each(|c| c.currencies.retain(|x| x != "EUR"));
    let err = apply(no_eur.clone(), false).await.unwrap_err().to_string();
    assert!(err.contains("EUR"), "{err}");
    apply(no_eur.clone(), true).await.unwrap();
    let tee = app
        .api(Method::GET, "/api/v1/products/TEE", Some(&token))
        .await
        .json();
    assert_eq!(
        tee["values"]["sale_price"][0]["data"],
        json!([{"amount": "6.00", "currency": "USD"}])
    );
    // Deleting a channel with values scoped to it: destructive.
    let mut no_web = no_eur.clone();
    no_web.channels.retain(|c| c.code != "web");
    no_web.families.iter_mut().for_each(|f| {
        f.requirements.remove("web");
    });
    let err = apply(no_web.clone(), false).await.unwrap_err().to_string();
    assert!(err.contains("channel"), "{err}");
    apply(no_web, true).await.unwrap();
    let tee = app
        .api(Method::GET, "/api/v1/products/TEE", Some(&token))
        .await
        .json();
    assert!(tee["values"].get("description").is_none(), "{tee}");
}

async fn stale_schema_edits_and_writes_are_refused(app: TestApp) {
    app.seed_schema().await;
    let actor = Actor::system("test");
    let loaded = sluice::catalog::store::load_schema(app.db().pool())
        .await
        .unwrap();
    assert!(loaded.version > 0);
    // Admin A renames a locale label; admin B, working from the same load, adds a locale.
    let mut first = loaded.clone();
    first.locales[0].label = "English".into();
    schema_code::apply(app.db(), &actor, &first, false, false, app.clock().now())
        .await
        .unwrap();
    let mut second = loaded.clone();
    second.locales.push(sluice::catalog::schema::Locale {
        code: "fr_FR".into(),
        label: "Français".into(),
    });
    let err = schema_code::apply(app.db(), &actor, &second, false, false, app.clock().now())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("changed since it was loaded"),
        "{err}"
    );
    // A product write validated against the old schema is refused too.
    let outcome = write::create(
        app.db(),
        &loaded,
        &Writer::System(actor.clone()),
        NewProduct {
            sku: "G-1".into(),
            kind: ProductKind::Simple,
            family: "gadgets".into(),
            parent: None,
            enabled: true,
            categories: vec![],
            values: vec![],
        },
        app.clock().now(),
    )
    .await;
    assert!(
        matches!(outcome, Err(write::WriteError::SchemaChanged)),
        "{outcome:?}"
    );
}

async fn model_changes_reach_variants_through_etag_and_change_log(app: TestApp) {
    app.seed_schema().await;
    let token = editor_token(&app).await;
    create(
        &app,
        &token,
        json!({"sku": "TEE", "kind": "model", "family": "apparel"}),
    )
    .await;
    let variant = create(
        &app,
        &token,
        json!({"sku": "TEE-RED-S", "kind": "variant", "family": "apparel", "parent": "TEE",
        "values": {"color": value(json!("red")), "size": value(json!("s"))}}),
    )
    .await;
    let tag = variant.header("etag").unwrap().to_owned();
    assert_eq!(tag, "\"1.1\"");
    patch(
        &app,
        &token,
        "TEE",
        1,
        json!({"values": {"search_boost": value(json!("3"))}}),
    )
    .await;
    let again = app
        .api_json(
            Method::GET,
            "/api/v1/products/TEE-RED-S",
            &token,
            None,
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "the model changed, so the variant's tag did"
    );
    assert_eq!(again.header("etag"), Some("\"1.2\""));
    // Its own version is what a change is based on.
    let changed = app
        .api_json(
            Method::PATCH,
            "/api/v1/products/TEE-RED-S",
            &token,
            Some(json!({"values": {"size": value(json!("m"))}})),
            &[("if-match", "\"1.2\"")],
        )
        .await;
    // size is a reviewed axis: a proposal, applied on approval.
    assert_eq!(approve(&app, &changed).await.status, StatusCode::OK);
    use sqlx::Row;
    let skus: Vec<String> = sqlx::query("SELECT sku FROM change_log ORDER BY seq")
        .fetch_all(app.db().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("sku"))
        .collect();
    assert_eq!(skus, ["TEE", "TEE-RED-S", "TEE", "TEE-RED-S", "TEE-RED-S"]);
}

async fn page_saves_for_a_locale_the_channel_lacks(app: TestApp) {
    // (Also here: one change may not name the same value twice, nor use Akeneo's `scope`.)
    app.seed_schema().await;
    let token = editor_token(&app).await;
    let twice = create(&app, &token, json!({"sku": "T-1", "family": "gadgets", "values": {"name": [
        {"locale": "en_US", "channel": null, "data": "a"}, {"locale": "en_US", "channel": null, "data": "b"}]}}))
    .await;
    assert_eq!(
        twice.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        twice.body
    );
    assert!(twice.body.contains("given twice"));
    let scope = create(
        &app,
        &token,
        json!({"sku": "T-2", "family": "gadgets", "values": {"name": [
        {"locale": "en_US", "scope": "web", "data": "a"}]}}),
    )
    .await;
    assert_eq!(
        scope.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        scope.body
    );
    page_saves_for_a_locale(app).await;
}

async fn page_saves_for_a_locale(app: TestApp) {
    system_create(
        &app,
        "G-1",
        ProductKind::Simple,
        "gadgets",
        None,
        &[("name", Some("de_DE"), json!("Radio"))],
    )
    .await;
    let editor = app.login_as(Role::Editor).await;
    // google has only en_US; description is localizable and scopable.
    let page = editor
        .get("/products/G-1?locale=de_DE&channel=google")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let saved = editor
        .post_form(
            "/products/G-1",
            "/products/G-1",
            &[
                ("version", "1"),
                ("locale", "de_DE"),
                ("channel", "google"),
                ("v.name", "Kofferradio"),
                ("v.description", "<p>Klein</p>"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(
        saved.location().contains("notice=draft_saved"),
        "{}",
        saved.location()
    );
    // Reviewed values wait in the editor's draft; master is unchanged.
    let product = sluice::catalog::store::find(app.db().pool(), "G-1")
        .await
        .unwrap()
        .unwrap()
        .product;
    assert_eq!(
        product
            .values
            .get(&ValueKey::new("name", Some("de_DE"), None)),
        Some(&json!("Radio"))
    );
    let draft = sluice::workflow::proposals::list(
        app.db(),
        &sluice::workflow::proposals::ProposalFilter {
            statuses: vec![sluice::workflow::proposals::Status::Draft],
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let changes: Vec<(String, Option<Value>)> = draft[0]
        .changes
        .iter()
        .map(|c| (c.key().to_string(), c.after.clone()))
        .collect();
    assert!(
        changes.contains(&("name [de_DE]".to_owned(), Some(json!("Kofferradio")))),
        "{changes:?}"
    );
    assert!(
        changes.contains(&(
            "description [de_DE]".to_owned(),
            Some(json!("<p>Klein</p>"))
        )),
        "{changes:?}"
    );
    // The editor sees their draft's values in the form.
    let page = editor
        .get("/products/G-1?locale=de_DE&channel=google")
        .await;
    assert!(page.body.contains("value=\"Kofferradio\""));
    assert!(page.body.contains("in your draft"));
    // A crafted version is refused plainly, not with a 500.
    let crafted = editor
        .post_form(
            "/products/G-1",
            "/products/G-1",
            &[("version", "-9223372036854775808"), ("v.name", "x")],
        )
        .await;
    assert_eq!(crafted.status, StatusCode::BAD_REQUEST);
}

/// A person's create and an import's are one check (issue 13): a field the
/// writer may not write is Forbidden even beside other errors, and the first
/// history entry names the model as stored, whatever case the SKU was typed in.
async fn a_single_create_is_checked_like_an_import(app: TestApp) {
    app.seed_schema().await;
    let schema = app.schema().await;
    app.create_as_system(
        &schema,
        new_product("TEE", ProductKind::Model, "apparel", None),
    )
    .await;
    let person = Writer::Person(Actor::system("editor"));
    let axes = || {
        vec![
            ValueChange {
                key: ValueKey::new("color", None, None),
                data: Some(json!("red")),
            },
            ValueChange {
                key: ValueKey::new("size", None, None),
                data: Some(json!("m")),
            },
        ]
    };
    let mut values = axes();
    values.push(ValueChange {
        key: ValueKey::new("gtin", None, None),
        data: Some(json!("4006381333931")),
    });
    let refused = write::create(
        app.db(),
        &schema,
        &person,
        NewProduct {
            values,
            categories: vec!["no-such-category".into()],
            ..new_product("TEE-RED-M", ProductKind::Variant, "apparel", Some("tee"))
        },
        app.clock().now(),
    )
    .await;
    assert!(
        matches!(refused, Err(write::WriteError::Forbidden(_))),
        "{refused:?}"
    );
    let variant = write::create(
        app.db(),
        &schema,
        &person,
        NewProduct {
            values: axes(),
            ..new_product("TEE-RED-M", ProductKind::Variant, "apparel", Some("tee"))
        },
        app.clock().now(),
    )
    .await
    .expect("create");
    assert_eq!(variant.parent.as_deref(), Some("TEE"));
    let history = sluice::workflow::history::versions(app.db(), variant.id, 1)
        .await
        .expect("history");
    let parent = history[0]
        .changes
        .iter()
        .find(|c| c.attribute == "parent")
        .expect("the parent is recorded");
    assert_eq!(parent.after, Some(json!("TEE")));
}
