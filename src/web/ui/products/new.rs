//! Creating a product in the browser (`/products/new`), in two steps that
//! work without JavaScript: first the family and the kind, then the form for
//! that family (SKU, a variant's model and axis values, categories). The
//! product is born as DESIGN says, through [`proposals::create`]: structure
//! and a variant's axis values applied, disabled; enabling it and its
//! categories wait in a submitted "New product" proposal.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::Value as Json;

use super::{ErrorLine, Submitted, category_tree};
use crate::auth::Permission;
use crate::auth::sessions::Session;
use crate::catalog::product::{ProductKind, ValueKey};
use crate::catalog::schema::{Family, Schema};
use crate::catalog::store::{self, ProductFilter, ProductSort};
use crate::web::AppState;
use crate::web::error::{AppError, FieldError};
use crate::web::extract::{PageSession, urlencode};
use crate::web::ui::labels::Labels;
use crate::web::ui::{Choice, Chrome, choices, render};
use crate::web::{PageError, PageResult};
use crate::workflow::proposals::{self, WorkflowError};
use crate::workflow::write::{NewProduct, ValueChange, WriteError};

/// Most models offered as suggestions for a variant's parent.
const MODEL_SUGGESTIONS: i64 = 200;

/// One variant axis: a select of the axis attribute's options.
struct AxisInput {
    /// Form field name and input id: `axis.CODE`.
    name: String,
    label: String,
    options: Vec<Choice>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "products/new.html")]
struct NewProductPage {
    chrome: Chrome,
    families: Vec<Choice>,
    kinds: Vec<Choice>,
    /// Step two: the family and kind are chosen and valid.
    chosen: bool,
    family: String,
    family_label: String,
    kind: String,
    sku: String,
    parent: String,
    /// Models of the family, offered for a variant's parent.
    models: Vec<String>,
    axes: Vec<AxisInput>,
    enable: bool,
    categories: Vec<(Choice, usize)>,
    errors: Vec<FieldError>,
    error_summary: Vec<ErrorLine>,
}

impl NewProductPage {
    /// The message of the error on `field`, if any.
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field.as_deref() == Some(field))
            .map(|e| e.message.as_str())
    }
}

/// What the person chose or typed, from the query (step one) or the form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct NewProductInput {
    #[serde(default)]
    family: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    parent: String,
    /// Axis code → option code.
    #[serde(skip)]
    axes: HashMap<String, String>,
    /// Whether enabling the product is proposed (with its categories).
    #[serde(skip)]
    enable: bool,
    #[serde(skip)]
    categories: Vec<String>,
}

impl NewProductInput {
    fn from_form(form: &Submitted) -> Self {
        let first = |name: &str| {
            form.get(name)
                .and_then(|v| v.first())
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        NewProductInput {
            family: first("family"),
            kind: first("kind"),
            sku: first("sku"),
            parent: first("parent"),
            axes: form
                .iter()
                .filter_map(|(name, values)| {
                    let axis = name.strip_prefix("axis.")?;
                    Some((axis.to_owned(), values.first()?.trim().to_owned()))
                })
                .collect(),
            enable: form
                .get("enable")
                .is_some_and(|v| v.iter().any(|x| x == "true")),
            categories: form.get("categories").cloned().unwrap_or_default(),
        }
    }

    /// The family and kind, when step one was filled in validly; else the
    /// errors that keep the person on step one.
    fn chosen<'s>(&self, schema: &'s Schema) -> Result<(&'s Family, ProductKind), Vec<FieldError>> {
        let mut errors = Vec::new();
        let family = schema.family(&self.family);
        if family.is_none() {
            errors.push(FieldError::field("family", "choose a family"));
        }
        let kind = ProductKind::parse(&self.kind);
        if kind.is_none() {
            errors.push(FieldError::field("kind", "choose simple, model or variant"));
        }
        match (family, kind) {
            (Some(family), Some(kind))
                if kind != ProductKind::Simple && family.variant_axes.is_empty() =>
            {
                Err(vec![FieldError::field(
                    "kind",
                    format!(
                        "the family {} has no variant axes, so its products are simple",
                        family.code
                    ),
                )])
            }
            (Some(family), Some(kind)) => Ok((family, kind)),
            _ => Err(errors),
        }
    }

    /// The product to create.
    fn new_product(&self, family: &Family, kind: ProductKind) -> NewProduct {
        let is_variant = kind == ProductKind::Variant;
        NewProduct {
            sku: self.sku.clone(),
            kind,
            family: family.code.clone(),
            parent: (is_variant && !self.parent.is_empty()).then(|| self.parent.clone()),
            enabled: self.enable,
            categories: self.categories.clone(),
            values: family
                .variant_axes
                .iter()
                .filter(|_| is_variant)
                .filter_map(|axis| {
                    let code = self.axes.get(axis).filter(|c| !c.is_empty())?;
                    Some(ValueChange {
                        key: ValueKey::new(axis, None, None),
                        data: Some(Json::from(code.clone())),
                    })
                })
                .collect(),
        }
    }
}

fn require_editor(session: &Session) -> Result<(), PageError> {
    session
        .caller()
        .require(&Permission::EditCatalog)
        .map_err(|err| PageError(AppError::from(err)))
}

/// The page for `input`: step one until family and kind are chosen.
async fn build(
    state: &AppState,
    session: &Session,
    schema: &Schema,
    input: &NewProductInput,
    mut errors: Vec<FieldError>,
    first_visit: bool,
) -> Result<NewProductPage, PageError> {
    let labels = Labels::new(schema, "en_US");
    let chosen = input.chosen(schema);
    if let (Err(step_one), false) = (&chosen, first_visit) {
        errors.extend(step_one.iter().cloned());
    }
    let chosen = chosen.ok();
    let models = match chosen {
        Some((family, ProductKind::Variant)) => {
            let filter = ProductFilter {
                family: Some(family.code.clone()),
                kind: Some(ProductKind::Model),
                ..ProductFilter::default()
            };
            store::list(
                &state.db,
                &filter,
                ProductSort::SkuAsc,
                None,
                MODEL_SUGGESTIONS,
            )
            .await?
            .products
            .into_iter()
            .map(|p| p.product.sku)
            .collect()
        }
        _ => Vec::new(),
    };
    let field_error = |field: &str| {
        errors
            .iter()
            .find(|e| e.field.as_deref() == Some(field))
            .map(|e| e.message.clone())
    };
    let axes = match chosen {
        Some((family, ProductKind::Variant)) => family
            .variant_axes
            .iter()
            .filter_map(|code| schema.attribute(code))
            .map(|attribute| {
                let current = input.axes.get(&attribute.code).map(String::as_str);
                let mut options = vec![(String::new(), "—".to_owned())];
                options.extend(
                    attribute
                        .options
                        .iter()
                        .map(|o| (o.code.clone(), labels.option(attribute, &o.code))),
                );
                AxisInput {
                    name: format!("axis.{}", attribute.code),
                    label: attribute.label("en_US").to_owned(),
                    options: choices(options, current),
                    error: field_error(&attribute.code),
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let categories = category_tree(schema, &input.categories);
    let anchor = |field: &str| -> Option<String> {
        match field {
            "sku" | "family" | "kind" | "categories" => Some(field.to_owned()),
            "parent" if chosen.is_some_and(|(_, kind)| kind == ProductKind::Variant) => {
                Some("parent".to_owned())
            }
            axis => axes
                .iter()
                .any(|a| a.name == format!("axis.{axis}"))
                .then(|| format!("axis.{axis}")),
        }
    };
    let error_summary = errors
        .iter()
        .map(|e| ErrorLine::of(e, labels, e.field.as_deref().and_then(anchor)))
        .collect();
    Ok(NewProductPage {
        chrome: Chrome::new(session, "/products", None),
        families: choices(
            schema
                .families
                .iter()
                .map(|f| (f.code.clone(), labels.family(&f.code))),
            Some(input.family.as_str()),
        ),
        kinds: choices(
            [
                ("simple", "Simple: a product on its own"),
                (
                    "model",
                    "Model: the parent of variants, with their shared values",
                ),
                ("variant", "Variant: one of a model's variants"),
            ]
            .map(|(v, l)| (v.to_owned(), l.to_owned())),
            Some(input.kind.as_str()),
        ),
        chosen: chosen.is_some(),
        family: input.family.clone(),
        family_label: labels.family(&input.family),
        kind: input.kind.clone(),
        sku: input.sku.clone(),
        parent: input.parent.clone(),
        models,
        axes,
        enable: input.enable,
        categories,
        errors,
        error_summary,
    })
}

/// `GET /products/new[?family=&kind=]`
pub(super) async fn form(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Query(mut input): Query<NewProductInput>,
) -> PageResult {
    require_editor(&session)?;
    let schema = state.schema.get(&state.db).await?;
    // Before anything is chosen, step one shows no errors.
    let first_visit = input.family.is_empty() && input.kind.is_empty();
    // Most new products are meant to go live: enabling is proposed unless unticked.
    input.enable = true;
    let page = build(&state, &session, &schema, &input, Vec::new(), first_visit).await?;
    let status = if page.error_summary.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render(status, &page))
}

/// `POST /products/new`
pub(super) async fn create(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    RawForm(body): RawForm,
) -> PageResult {
    require_editor(&session)?;
    let mut form: Submitted = HashMap::new();
    for (key, value) in url::form_urlencoded::parse(&body) {
        form.entry(key.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    let input = NewProductInput::from_form(&form);
    let schema = state.schema.get(&state.db).await?;
    let refused = async |errors: Vec<FieldError>| -> PageResult {
        let page = build(&state, &session, &schema, &input, errors, false).await?;
        Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    let Ok((family, kind)) = input.chosen(&schema) else {
        return refused(Vec::new()).await;
    };
    let created = proposals::create(
        &state.db,
        &schema,
        &session.caller(),
        input.new_product(family, kind),
        state.clock.now(),
    )
    .await;
    match created {
        Ok(edited) => {
            let notice = if edited.proposal.is_some() {
                "product_created"
            } else {
                "product_created_alone"
            };
            Ok(Redirect::to(&format!(
                "/products/{}?notice={notice}",
                urlencode(&edited.product.sku)
            ))
            .into_response())
        }
        Err(WorkflowError::Write(WriteError::Invalid(errors) | WriteError::Forbidden(errors))) => {
            refused(errors).await
        }
        Err(WorkflowError::Write(WriteError::SkuTaken(sku))) => {
            refused(vec![FieldError::field(
                "sku",
                format!("a product with the SKU {sku} already exists"),
            )])
            .await
        }
        Err(WorkflowError::Write(WriteError::SchemaChanged)) => {
            refused(vec![FieldError {
                message: "the catalog schema changed while this was being saved; check the form and create again".to_owned(),
                ..FieldError::default()
            }])
            .await
        }
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// Notices after creating a product (the shared notice table does not know them).
pub(super) fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "product_created" => {
            "Product created, disabled. Enabling it and its categories wait for review in its \"New product\" proposal."
        }
        "product_created_alone" => {
            "Product created, disabled; nothing waits for review. Set its values and enable it on this page."
        }
        _ => return None,
    })
}
