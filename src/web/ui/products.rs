//! The product page: attribute groups, locale and channel switch, ERP-owned
//! values read-only, inherited values marked, variants, categories,
//! readiness and publication state per channel, a preview of exactly what
//! the selected channel receives, and history. Saving goes
//! through the write path with the version the form was opened at. The form
//! carries what it showed (hidden `seen.` fields), so only the fields the
//! person changed are saved: over a product that moved on, those merge onto
//! master as it is now, and a field a colleague changed too is refused (409)
//! and shown side by side, theirs and yours, for the person to choose.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value as Json;

use super::labels::{HtmlDiff, Labels, safe_html};
use super::{Choice, Chrome, category_choices, choices, render};
use crate::auth::Permission;
use crate::auth::sessions::Session;
use crate::catalog::product::{Product, ProductKind, ValueKey, Values};
use crate::catalog::schema::{
    Attribute, AttributeType, Channel, Lane, OutputFormat, Owner, Schema,
};
use crate::catalog::store::{self, StoredProduct};
use crate::publish::feed::{self, Snapshot};
use crate::publish::formats;
use crate::publish::payload::{self, Payload};
use crate::publish::readiness::{self, ChannelReadiness, Reason, assess};
use crate::web::AppState;
use crate::web::error::{AppError, FieldError};
use crate::web::extract::{PageSession, urlencode};
use crate::web::{PageError, PageResult};
use crate::workflow::history::{self, VersionEntry};
use crate::workflow::merge::{self, Merged};
use crate::workflow::proposals::{self, Status, WorkflowError};
use crate::workflow::write::{ChangeSet, ValueChange, WriteError};

mod media;
mod new;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products/new", get(new::form).post(new::create))
        .route("/products/{sku}", get(page).post(save))
        .route("/products/{sku}/restore", axum::routing::post(restore))
        // Files are stored as they arrive, each within the media size limit.
        .route(
            "/products/{sku}/media",
            axum::routing::post(media::upload_and_link).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/products/{sku}/media/links",
            axum::routing::post(media::arrange),
        )
}

/// One input on the product page.
struct FieldView {
    /// The form field name (`v.name`, `v.weight.amount` …).
    name: String,
    label: String,
    input: &'static str,
    value: String,
    /// Select/multiselect options, units or currencies.
    options: Vec<Choice>,
    /// Price: (currency, amount, input name).
    prices: Vec<(String, String, String)>,
    /// Measurement unit.
    unit_name: String,
    readonly: bool,
    erp: bool,
    /// How a save reaches master: `fast` (applies now), `reviewed` (needs
    /// review) or `erp` (read-only, written by imports).
    lane: &'static str,
    /// The value as people read it (labels, units), for the read view.
    text: String,
    /// A textarea's value as sanitized HTML, rendered beside its source.
    rich: Option<String>,
    drafted: bool,
    inherited_from: Option<String>,
    scope_note: String,
    error: Option<String>,
    /// What the field shows of the stored data, as `seen.`-prefixed form
    /// fields: a save compares the input with it to tell what the person changed.
    seen: Vec<(String, String)>,
}

impl FieldView {
    /// The field's own name (`v.weight`): readiness reasons link to it, and
    /// a measurement's inputs are named after it (`.amount`, `.unit`).
    fn anchor(&self) -> &str {
        self.unit_name
            .strip_suffix(".unit")
            .unwrap_or(&self.unit_name)
    }
}

struct GroupView {
    label: String,
    fields: Vec<FieldView>,
}

struct VariantRow {
    sku: String,
    /// `Color: Blue, Size: L`.
    href: String,
    axes: String,
    enabled: bool,
    missing: Vec<(String, i64)>,
}

struct ChangeRow {
    field: String,
    /// Values as people read them (rich text as plain text).
    before: String,
    after: String,
    /// For rich text: the raw HTML, word by word, shown on demand.
    html_diff: Option<HtmlDiff>,
}

struct VersionRow {
    version: i64,
    at: String,
    actor: String,
    changes: Vec<ChangeRow>,
}

#[derive(Template)]
#[template(path = "products/page.html")]
struct ProductPage {
    chrome: Chrome,
    sku: String,
    href: String,
    kind: &'static str,
    family_label: String,
    parent: Option<(String, String)>,
    enabled: bool,
    version: i64,
    /// The version the form's values are based on: master's, except when a
    /// refused save is shown again with the person's input.
    form_version: i64,
    can_edit: bool,
    locales: Vec<Choice>,
    channels: Vec<Choice>,
    locale: String,
    channel: String,
    groups: Vec<GroupView>,
    categories: Vec<(Choice, usize)>,
    /// Per channel: readiness judged now, and what the channel has.
    readiness: Vec<(ReadinessRow, PublicationView)>,
    /// What the selected channel receives.
    preview: Option<PreviewView>,
    variants: Vec<VariantRow>,
    history: Vec<VersionRow>,
    /// The viewer's draft: id and number of open changes.
    draft: Option<(i64, usize)>,
    alert: Option<String>,
    conflicts: Vec<ChangeRow>,
    /// Fields both the viewer and a colleague changed, with the choice.
    clashes: Vec<ClashRow>,
    /// Hidden `seen.` fields: what the form showed when it was opened.
    seen: Vec<(String, String)>,
    /// Every error of a refused save: the field's label, the message and
    /// the anchor of its input (none for an error of no field on the page).
    error_summary: Vec<ErrorLine>,
    /// The `assets` attributes as thumbnail strips.
    media: Vec<media::MediaField>,
}

/// One line of a form's error summary, linking to its field.
pub(super) struct ErrorLine {
    label: String,
    message: String,
    anchor: Option<String>,
}

/// A field both people changed: theirs (saved) beside yours, and the
/// radio name (`keep.FIELD`) that chooses.
struct ClashRow {
    name: String,
    label: String,
    theirs: String,
    yours: String,
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    locale: Option<String>,
    channel: Option<String>,
    notice: Option<String>,
}

/// Formats a stored value for an input.
fn input_text(attribute: &Attribute, data: Option<&Json>) -> String {
    let Some(data) = data else {
        return String::new();
    };
    match (attribute.kind, data) {
        (_, Json::String(text)) => text.clone(),
        (AttributeType::Boolean, Json::Bool(b)) => b.to_string(),
        (AttributeType::Assets | AttributeType::Multiselect, Json::Array(items)) => items
            .iter()
            .filter_map(Json::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        (_, other) => other.to_string(),
    }
}

/// The value a field edits for the chosen locale and channel. A scopable
/// attribute edits its channel-specific value when there is one, else the
/// value for all channels (which the channel falls back to).
fn key_for(attribute: &Attribute, values: &Values, locale: &str, channel: &str) -> ValueKey {
    let locale = attribute.localizable.then_some(locale);
    let specific = ValueKey::new(&attribute.code, locale, Some(channel));
    if attribute.scopable && values.get(&specific).is_some() {
        specific
    } else {
        ValueKey::new(&attribute.code, locale, None)
    }
}

/// The user's submitted fields, when re-rendering a refused form.
type Submitted = HashMap<String, Vec<String>>;

struct Context<'a> {
    schema: &'a Schema,
    labels: Labels<'a>,
    product: &'a Product,
    model: Option<&'a Product>,
    locale: &'a str,
    channel: &'a str,
    submitted: Option<&'a Submitted>,
    errors: &'a [FieldError],
    may_edit: bool,
    /// Fields whose shown value comes from the viewer's draft.
    drafted: &'a [ValueKey],
}

fn field_view(ctx: &Context<'_>, attribute: &Attribute) -> FieldView {
    let family = ctx.schema.family(&ctx.product.family);
    let on_level = family.is_none_or(|f| {
        crate::catalog::completeness::on_level(f, ctx.product.kind, &attribute.code)
    });
    let level_values = if on_level {
        &ctx.product.values
    } else {
        ctx.model.map_or(&ctx.product.values, |m| &m.values)
    };
    let key = key_for(attribute, level_values, ctx.locale, ctx.channel);
    let (data, inherited_from) = if on_level {
        (ctx.product.values.get(&key), None)
    } else {
        (
            ctx.model.and_then(|m| m.values.get(&key)),
            ctx.product.parent.clone(),
        )
    };
    let erp = attribute.owner == Owner::Erp;
    let lane = match (erp, attribute.lane) {
        (true, _) => "erp",
        (false, Lane::Fast) => "fast",
        (false, Lane::Reviewed) => "reviewed",
    };
    let drafted = ctx.drafted.contains(&key);
    let readonly = !ctx.may_edit || erp || !on_level;
    let name = format!("v.{}", attribute.code);
    let submitted = |field: &str| ctx.submitted.and_then(|s| s.get(field)).cloned();
    let first = |field: &str| submitted(field).and_then(|v| v.into_iter().next());
    let error = ctx
        .errors
        .iter()
        .find(|e| e.field.as_deref() == Some(attribute.code.as_str()))
        .map(|e| e.message.clone());
    let mut view = FieldView {
        label: attribute.label(ctx.locale).to_owned(),
        input: "text",
        value: first(&name).unwrap_or_else(|| input_text(attribute, data)),
        options: Vec::new(),
        prices: Vec::new(),
        unit_name: format!("{name}.unit"),
        readonly,
        erp,
        lane,
        text: ctx.labels.text(&attribute.code, data).unwrap_or_default(),
        rich: None,
        drafted,
        inherited_from,
        scope_note: {
            let channel = match (&key.channel, attribute.scopable) {
                (Some(channel), _) => Some(channel.clone()),
                (None, true) => Some("all channels".to_owned()),
                (None, false) => None,
            };
            [key.locale.clone(), channel]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ")
        },
        error,
        seen: if readonly {
            Vec::new()
        } else {
            seen_inputs(ctx.schema, attribute, &name, data)
        },
        name: name.clone(),
    };
    match attribute.kind {
        AttributeType::Textarea => {
            view.input = "textarea";
            view.rich = Some(safe_html(&view.value));
        }
        AttributeType::Boolean => {
            view.input = "select";
            let current = view.value.clone();
            view.options = choices(
                [("", "—"), ("true", "Yes"), ("false", "No")]
                    .map(|(v, l)| (v.to_owned(), l.to_owned())),
                Some(current.as_str()),
            );
        }
        AttributeType::Date => view.input = "date",
        AttributeType::Url => view.input = "url",
        AttributeType::Select => {
            view.input = "select";
            let current = view.value.clone();
            let mut options = vec![(String::new(), "—".to_owned())];
            options.extend(
                attribute
                    .options
                    .iter()
                    .map(|o| (o.code.clone(), ctx.labels.option(attribute, &o.code))),
            );
            view.options = choices(options, Some(current.as_str()));
        }
        AttributeType::Multiselect => {
            view.input = "multiselect";
            // A browser sends no `v.X` when every box is unticked, only
            // `v.X.present`: that is an empty choice, not "show the stored".
            let cleared = submitted(&format!("{name}.present")).map(|_| Vec::new());
            let selected: Vec<String> = submitted(&name).or(cleared).unwrap_or_else(|| {
                data.and_then(Json::as_array)
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            });
            view.options = attribute
                .options
                .iter()
                .map(|o| Choice {
                    selected: selected.contains(&o.code),
                    label: ctx.labels.option(attribute, &o.code),
                    value: o.code.clone(),
                })
                .collect();
        }
        AttributeType::Measurement => {
            view.input = "measurement";
            let amount_name = format!("{name}.amount");
            view.value = first(&amount_name).unwrap_or_else(|| {
                data.and_then(|d| d.get("amount"))
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_owned()
            });
            let unit = first(&view.unit_name).unwrap_or_else(|| {
                data.and_then(|d| d.get("unit"))
                    .and_then(Json::as_str)
                    .map(str::to_owned)
                    .or_else(|| attribute.validation.default_unit.clone())
                    .unwrap_or_default()
            });
            let units: Vec<&str> = attribute
                .validation
                .unit_family
                .map(crate::catalog::units::units_of)
                .unwrap_or_default()
                .to_vec();
            view.options = choices(
                units.iter().map(|u| {
                    let symbol = crate::catalog::units::symbol(u).unwrap_or(u);
                    ((*u).to_owned(), symbol.to_owned())
                }),
                Some(unit.as_str()),
            );
            view.name = amount_name;
        }
        AttributeType::Price => {
            view.input = "price";
            view.prices = ctx
                .schema
                .currencies
                .iter()
                .map(|currency| {
                    let field = format!("{name}.{}", currency.code);
                    let stored = data
                        .and_then(Json::as_array)
                        .and_then(|items| {
                            items
                                .iter()
                                .find(|i| i["currency"] == currency.code.as_str())
                        })
                        .and_then(|i| i["amount"].as_str())
                        .unwrap_or("")
                        .to_owned();
                    (
                        currency.code.clone(),
                        first(&field).unwrap_or(stored),
                        field,
                    )
                })
                .collect();
        }
        _ => {}
    }
    view
}

/// The stored `data` of a field as the form encodes it, each name prefixed
/// with `seen.` (hidden inputs beside the field's own).
fn seen_inputs(
    schema: &Schema,
    attribute: &Attribute,
    name: &str,
    data: Option<&Json>,
) -> Vec<(String, String)> {
    let seen = |field: String, value: &str| (format!("seen.{field}"), value.to_owned());
    let text_of = |field: &str| {
        data.and_then(|d| d.get(field))
            .and_then(Json::as_str)
            .unwrap_or("")
    };
    match attribute.kind {
        AttributeType::Multiselect => std::iter::once(seen(format!("{name}.present"), "1"))
            .chain(
                data.and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                    .map(|code| seen(name.to_owned(), code)),
            )
            .collect(),
        AttributeType::Measurement => vec![
            seen(format!("{name}.amount"), text_of("amount")),
            seen(format!("{name}.unit"), text_of("unit")),
        ],
        AttributeType::Price => schema
            .currencies
            .iter()
            .map(|currency| {
                let amount = data
                    .and_then(Json::as_array)
                    .and_then(|items| {
                        items
                            .iter()
                            .find(|i| i["currency"] == currency.code.as_str())
                    })
                    .and_then(|i| i["amount"].as_str())
                    .unwrap_or("");
                seen(format!("{name}.{}", currency.code), amount)
            })
            .collect(),
        _ => vec![seen(name.to_owned(), &input_text(attribute, data))],
    }
}

/// Every `seen.` field of the form: the fields' stored data and the
/// product's status and categories, as `shown` has them.
fn seen_of(groups: &[GroupView], shown: &Product) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> = groups
        .iter()
        .flat_map(|g| &g.fields)
        .flat_map(|f| f.seen.iter().cloned())
        .collect();
    seen.push(("seen.structure".to_owned(), "1".to_owned()));
    if shown.enabled {
        seen.push(("seen.enabled".to_owned(), "true".to_owned()));
    }
    seen.extend(
        shown
            .categories
            .iter()
            .map(|c| ("seen.categories".to_owned(), c.clone())),
    );
    seen
}

async fn load(state: &AppState, sku: &str) -> Result<(StoredProduct, Option<Product>), PageError> {
    let stored = store::find(state.db.pool(), sku)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no product with the SKU {sku}.")))?;
    let model = match stored.parent_id {
        Some(id) => store::find_by_id(state.db.pool(), id)
            .await?
            .map(|p| p.product),
        None => None,
    };
    Ok((stored, model))
}

/// Everything the page shows; `submitted`/`errors` when re-rendering a refused save.
#[expect(
    clippy::too_many_arguments,
    reason = "the page's inputs are all distinct"
)]
async fn build_page(
    state: &AppState,
    session: &Session,
    schema: &Schema,
    stored: &StoredProduct,
    model: Option<&Product>,
    locale: &str,
    channel: &str,
    submitted: Option<&Submitted>,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Result<ProductPage, PageError> {
    let may_edit = session.caller().may(&Permission::EditCatalog);
    // The viewer sees their own draft's values in the form (master is unchanged
    // until a second person approves them).
    let draft = proposals::draft_of(&state.db, stored.product.id, session.user.id).await?;
    let (shown, drafted) = proposals::with_draft(&stored.product, draft.as_ref());
    let product = &shown;
    let labels = Labels::new(schema, locale);
    let ctx = Context {
        schema,
        labels,
        product,
        model,
        locale,
        channel,
        submitted,
        errors,
        may_edit,
        drafted: &drafted,
    };
    let family = schema.family(&product.family);
    let mut groups: Vec<GroupView> = Vec::new();
    for group in &schema.groups {
        let fields: Vec<FieldView> = schema
            .attributes
            .iter()
            .filter(|a| a.group == group.code)
            .filter(|a| family.is_some_and(|f| f.attributes.contains(&a.code)))
            // A model does not show its variants' own attributes.
            .filter(|a| {
                product.kind != ProductKind::Model
                    || family.is_none_or(|f| {
                        crate::catalog::completeness::on_level(f, ProductKind::Model, &a.code)
                    })
            })
            .map(|a| field_view(&ctx, a))
            .collect();
        if !fields.is_empty() {
            groups.push(GroupView {
                label: group
                    .labels
                    .get(locale)
                    .or_else(|| group.labels.get("en_US"))
                    .cloned()
                    .unwrap_or_else(|| group.code.clone()),
                fields,
            });
        }
    }
    // A refused save shown again still carries what the person first saw.
    let seen = match submitted {
        Some(form) => {
            let mut seen: Vec<(String, String)> = form
                .iter()
                .filter(|(name, _)| name.starts_with("seen."))
                .flat_map(|(name, values)| values.iter().map(|v| (name.clone(), v.clone())))
                .collect();
            seen.sort_by(|a, b| a.0.cmp(&b.0));
            seen
        }
        None => seen_of(&groups, product),
    };
    let selected_categories: Vec<String> = submitted
        .and_then(|s| s.get("categories").cloned())
        .unwrap_or_else(|| product.categories.clone());
    let categories = category_tree(schema, &selected_categories);
    // Readiness of master (not of the viewer's draft), judged now, beside
    // what each channel has (its published or held snapshot).
    let values = store::resolved_values(&stored.product, model);
    let linked = readiness::linked_assets(&state.db, schema, [&values])
        .await?
        .at(&state.media.public_url);
    let mut readiness = Vec::with_capacity(schema.channels.len());
    let mut selected_snapshot = None;
    for c in &schema.channels {
        let verdict = assess(schema, c, &stored.product, model, &values, &linked);
        // Models are not published themselves: their variants are.
        let snapshot = if stored.product.kind == ProductKind::Model {
            None
        } else {
            feed::snapshot(&state.db, &c.code, &stored.product.sku).await?
        };
        let publication = publication_view(&stored.product, &c.code, snapshot.as_ref());
        readiness.push((readiness_row(&stored.product.sku, &verdict), publication));
        if c.code == channel {
            selected_snapshot = snapshot;
        }
    }
    let preview = match schema.channel(channel) {
        Some(selected) => Some(
            preview_view(
                state,
                schema,
                selected,
                stored,
                model,
                &values,
                selected_snapshot.as_ref(),
            )
            .await?,
        ),
        None => None,
    };
    let variants = if product.kind == ProductKind::Model {
        let found = store::variants_of(state.db.pool(), product.id).await?;
        let ids: Vec<i64> = found.iter().map(|v| v.product.id).collect();
        let missing = crate::publish::overview::missing_counts(&state.db, &ids).await?;
        found
            .iter()
            .map(|v| VariantRow {
                href: format!("/products/{}", urlencode(&v.product.sku)),
                sku: v.product.sku.clone(),
                axes: family
                    .map(|f| labels.axes(f, &v.product.values))
                    .unwrap_or_default(),
                enabled: v.product.enabled,
                missing: missing.get(&v.product.id).cloned().unwrap_or_default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let history = history::versions(&state.db, product.id, 50)
        .await?
        .into_iter()
        .map(|entry| version_row(entry, labels))
        .collect();
    let error_summary = error_summary(&groups, errors, labels);
    let media = media::fields(
        state, schema, product, model, locale, channel, may_edit, &drafted, errors,
    )
    .await?;
    let mut chrome = Chrome::new(session, "/products", notice);
    chrome.notice = chrome.notice.or_else(|| {
        notice.and_then(|code| new::notice_text(code).or_else(|| media::notice_text(code)))
    });
    Ok(ProductPage {
        chrome,
        href: format!("/products/{}", urlencode(&product.sku)),
        sku: product.sku.clone(),
        kind: product.kind.as_str(),
        family_label: labels.family(&product.family),
        parent: product
            .parent
            .as_ref()
            .map(|p| (p.clone(), format!("/products/{}", urlencode(p)))),
        enabled: submitted
            .map(|s| {
                s.get("enabled")
                    .is_some_and(|v| v.iter().any(|x| x == "true"))
            })
            .unwrap_or(product.enabled),
        version: product.version,
        form_version: product.version,
        can_edit: may_edit,
        locales: choices(
            schema
                .locales
                .iter()
                .map(|l| (l.code.clone(), labels.locale(&l.code))),
            Some(locale),
        ),
        channels: choices(
            schema
                .channels
                .iter()
                .map(|c| (c.code.clone(), labels.channel(&c.code))),
            Some(channel),
        ),
        locale: locale.to_owned(),
        channel: channel.to_owned(),
        groups,
        categories,
        readiness,
        preview,
        variants,
        history,
        draft: draft.as_ref().map(|d| (d.id, d.open_changes().count())),
        alert: None,
        conflicts: Vec::new(),
        clashes: Vec::new(),
        seen,
        error_summary,
        media,
    })
}

/// Where a product stands on a channel: `published`, `held` (with the
/// reasons it is held for), `none` (the channel does not have it) or
/// `model` (models are published through their variants).
struct PublicationView {
    state: &'static str,
    seq: i64,
    reasons: Vec<(String, Option<String>)>,
}

fn snapshot_state(snapshot: &Snapshot) -> &'static str {
    if snapshot.state == "held" {
        "held"
    } else {
        "published"
    }
}

fn publication_view(
    product: &Product,
    channel: &str,
    snapshot: Option<&Snapshot>,
) -> PublicationView {
    match snapshot {
        None => PublicationView {
            state: if product.kind == ProductKind::Model {
                "model"
            } else {
                "none"
            },
            seq: 0,
            reasons: Vec::new(),
        },
        Some(snapshot) => PublicationView {
            state: snapshot_state(snapshot),
            seq: snapshot.seq,
            reasons: snapshot
                .reasons
                .iter()
                .map(|r| (r.message.clone(), reason_link(&product.sku, channel, r)))
                .collect(),
        },
    }
}

/// The "Channel preview" card: exactly what the selected channel receives.
struct PreviewView {
    channel: String,
    /// `published`, `held`, `none` (built now, not sent) or `model`.
    state: &'static str,
    /// Whether the product is ready now (for `none`: whether it would be sent).
    ready: bool,
    /// The payload, pretty-printed.
    payload: Option<String>,
    /// schema.org JSON-LD for a JSON channel (a `ProductGroup` for a model's variants).
    json_ld: Option<String>,
}

fn pretty(json: &Json) -> String {
    serde_json::to_string_pretty(json).unwrap_or_else(|_| json.to_string())
}

/// Stored bytes pretty-printed (as they are if they are not JSON).
fn pretty_text(text: &str) -> String {
    serde_json::from_str::<Json>(text).map_or_else(|_| text.to_owned(), |json| pretty(&json))
}

/// The stored payload of the channel's snapshot, or for a product the
/// channel does not have, the payload built from master now; for a JSON
/// channel also the schema.org JSON-LD.
async fn preview_view(
    state: &AppState,
    schema: &Schema,
    channel: &Channel,
    stored: &StoredProduct,
    model: Option<&Product>,
    values: &Values,
    snapshot: Option<&Snapshot>,
) -> Result<PreviewView, PageError> {
    let product = &stored.product;
    let linked = &readiness::linked_assets(&state.db, schema, [values])
        .await?
        .at(&state.media.public_url);
    let verdict = assess(schema, channel, product, model, values, linked);
    let (preview_state, payload) = match (product.kind, snapshot) {
        (ProductKind::Model, _) => ("model", None),
        (_, Some(snapshot)) => {
            let kept: Option<Payload> = serde_json::from_str(&snapshot.payload).ok();
            (
                snapshot_state(snapshot),
                Some((pretty_text(&snapshot.payload), kept)),
            )
        }
        (_, None) => {
            let built = payload::build(schema, channel, product, model, values, linked);
            let shown = serde_json::to_value(&built)
                .map_or_else(|_| built.to_bytes(), |json| pretty(&json));
            ("none", Some((shown, Some(built))))
        }
    };
    let json_ld = if channel.output_format == OutputFormat::Json || channel.code == "web" {
        let payloads: Vec<Payload> = match product.kind {
            ProductKind::Simple => payload
                .as_ref()
                .and_then(|(_, kept)| kept.clone())
                .into_iter()
                .collect(),
            // A variant is shown in its model's group, like a model.
            ProductKind::Variant | ProductKind::Model => {
                let group = if product.kind == ProductKind::Model {
                    Some(product)
                } else {
                    model
                };
                match group {
                    Some(group) => group_payloads(state, schema, channel, group).await?,
                    None => Vec::new(),
                }
            }
        };
        let ld = formats::json_ld(schema, channel, &payloads);
        (!ld.is_null()).then(|| pretty(&ld))
    } else {
        None
    };
    Ok(PreviewView {
        channel: channel.code.clone(),
        state: preview_state,
        ready: verdict.ready(),
        payload: payload.map(|(shown, _)| shown),
        json_ld,
    })
}

/// Payloads of a model's sellable variants (enabled and inside the
/// channel's tree), built from master.
async fn group_payloads(
    state: &AppState,
    schema: &Schema,
    channel: &Channel,
    model: &Product,
) -> Result<Vec<Payload>, PageError> {
    let variants = store::variants_of(state.db.pool(), model.id).await?;
    let resolved: Vec<(&Product, Values)> = variants
        .iter()
        .map(|v| (&v.product, store::resolved_values(&v.product, Some(model))))
        .collect();
    let linked = readiness::linked_assets(&state.db, schema, resolved.iter().map(|(_, v)| v))
        .await?
        .at(&state.media.public_url);
    Ok(resolved
        .iter()
        .filter(|(variant, values)| {
            assess(schema, channel, variant, Some(model), values, &linked).assigned()
        })
        .map(|(variant, values)| {
            payload::build(schema, channel, variant, Some(model), values, &linked)
        })
        .collect())
}

/// One channel's verdict on the product page: each reason with a link to
/// the field (in the locale and channel) that fixes it.
pub(crate) struct ReadinessRow {
    pub channel: String,
    pub ready: bool,
    pub reasons: Vec<(String, Option<String>)>,
}

/// The product page's field that fixes `reason` on `channel` (in its
/// locale), when the reason names an attribute.
pub(crate) fn reason_link(sku: &str, channel: &str, reason: &Reason) -> Option<String> {
    reason.attribute.as_ref().map(|attribute| {
        format!(
            "/products/{}?channel={}{}#v.{attribute}",
            urlencode(sku),
            urlencode(channel),
            reason
                .locale
                .as_ref()
                .map(|l| format!("&locale={}", urlencode(l)))
                .unwrap_or_default()
        )
    })
}

pub(crate) fn readiness_row(sku: &str, verdict: &ChannelReadiness) -> ReadinessRow {
    ReadinessRow {
        channel: verdict.channel.clone(),
        ready: verdict.ready(),
        reasons: verdict
            .reasons()
            .into_iter()
            .map(|reason| {
                (
                    reason.message.clone(),
                    reason_link(sku, &verdict.channel, reason),
                )
            })
            .collect(),
    }
}

/// The category tree as checkboxes, each with its depth, `selected` ticked.
fn category_tree(schema: &Schema, selected: &[String]) -> Vec<(Choice, usize)> {
    category_choices(schema, None)
        .into_iter()
        .map(|mut choice| {
            choice.selected = selected.contains(&choice.value);
            let depth = choice.label.chars().take_while(|c| *c == '\u{a0}').count() / 2;
            choice.label = choice.label.trim_start_matches('\u{a0}').to_owned();
            (choice, depth)
        })
        .collect()
}

impl ErrorLine {
    /// The line of `error`, linking to `anchor` (the input's id) if any.
    fn of(error: &FieldError, labels: Labels<'_>, anchor: Option<String>) -> Self {
        ErrorLine {
            label: error
                .field
                .as_deref()
                .map(|f| labels.field(f))
                .unwrap_or_default(),
            message: error.message.clone(),
            anchor,
        }
    }
}

/// Every error of a refused save, in the order of the page: the fields'
/// errors (linking to their inputs), then those of no field shown.
fn error_summary(
    groups: &[GroupView],
    errors: &[FieldError],
    labels: Labels<'_>,
) -> Vec<ErrorLine> {
    let on_page = |code: &str| {
        groups
            .iter()
            .flat_map(|g| &g.fields)
            .any(|f| f.name == format!("v.{code}") || f.name == format!("v.{code}.amount"))
    };
    let mut lines: Vec<ErrorLine> = groups
        .iter()
        .flat_map(|g| &g.fields)
        .filter_map(|f| {
            Some(ErrorLine {
                label: f.label.clone(),
                message: f.error.clone()?,
                anchor: Some(f.name.clone()),
            })
        })
        .collect();
    lines.extend(
        errors
            .iter()
            .filter(|e| e.field.as_deref().is_none_or(|f| !on_page(f)))
            .map(|e| ErrorLine::of(e, labels, None)),
    );
    lines
}

/// A history entry as people read it: labels, units, rich text as text,
/// with the raw HTML of a rich-text change kept for its diff.
fn version_row(entry: VersionEntry, labels: Labels<'_>) -> VersionRow {
    VersionRow {
        version: entry.version,
        at: entry.at.display(),
        actor: entry.actor,
        changes: entry
            .changes
            .iter()
            .map(|c| ChangeRow {
                field: labels.scoped_field(&c.attribute, c.locale.as_deref(), c.channel.as_deref()),
                before: labels.brief(&c.attribute, c.before.as_ref()),
                after: labels.brief(&c.attribute, c.after.as_ref()),
                html_diff: labels.html_diff(&c.attribute, c.before.as_ref(), c.after.as_ref()),
            })
            .collect(),
    }
}

fn pick<'a>(wanted: Option<&'a str>, available: impl Iterator<Item = &'a str>) -> String {
    let available: Vec<&str> = available.collect();
    match wanted {
        Some(w) if available.contains(&w) => w.to_owned(),
        _ => available
            .first()
            .map_or_else(String::new, |s| (*s).to_owned()),
    }
}

/// `GET /products/{sku}`
async fn page(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(sku): Path<String>,
    Query(query): Query<PageQuery>,
) -> PageResult {
    session
        .caller()
        .require(&Permission::ReadCatalog)
        .map_err(AppError::from)?;
    let schema = state.schema.get(&state.db).await?;
    let (stored, model) = load(&state, &sku).await?;
    let locale = pick(
        query.locale.as_deref(),
        schema.locales.iter().map(|l| l.code.as_str()),
    );
    let channel = pick(
        query.channel.as_deref(),
        schema.channels.iter().map(|c| c.code.as_str()),
    );
    let page = build_page(
        &state,
        &session,
        &schema,
        &stored,
        model.as_ref(),
        &locale,
        &channel,
        None,
        &[],
        query.notice.as_deref(),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// Turns the submitted form into value changes for the attributes editable
/// on this product, for the locale and channel the form was shown in.
fn changes_from_form(
    schema: &Schema,
    product: &Product,
    form: &Submitted,
    locale: &str,
    channel: &str,
) -> Result<ChangeSet, Vec<FieldError>> {
    let family = schema.family(&product.family);
    let first = |name: &str| {
        form.get(name)
            .and_then(|v| v.first())
            .map(|s| s.trim().to_owned())
    };
    let mut changes = ChangeSet::default();
    let mut errors = Vec::new();
    for attribute in &schema.attributes {
        let Some(family) = family else { break };
        if !family.attributes.contains(&attribute.code)
            || attribute.owner == Owner::Erp
            || !crate::catalog::completeness::on_level(family, product.kind, &attribute.code)
        {
            continue;
        }
        let name = format!("v.{}", attribute.code);
        let key = key_for(attribute, &product.values, locale, channel);
        let data: Option<Json> = match attribute.kind {
            AttributeType::Multiselect => {
                if !form.contains_key(&format!("{name}.present")) {
                    continue;
                }
                let codes: Vec<Json> = form
                    .get(&name)
                    .into_iter()
                    .flatten()
                    .map(|c| Json::from(c.clone()))
                    .collect();
                (!codes.is_empty()).then_some(Json::Array(codes))
            }
            AttributeType::Measurement => {
                let Some(amount) = first(&format!("{name}.amount")) else {
                    continue;
                };
                let unit = first(&format!("{name}.unit")).unwrap_or_default();
                if amount.is_empty() {
                    None
                } else if unit.is_empty() {
                    errors.push(FieldError::field(&attribute.code, "choose a unit"));
                    continue;
                } else {
                    Some(serde_json::json!({"amount": amount, "unit": unit}))
                }
            }
            AttributeType::Price => {
                let mut any_field = false;
                let mut prices = Vec::new();
                for currency in &schema.currencies {
                    if let Some(amount) = first(&format!("{name}.{}", currency.code)) {
                        any_field = true;
                        if !amount.is_empty() {
                            prices.push(
                                serde_json::json!({"amount": amount, "currency": currency.code}),
                            );
                        }
                    }
                }
                if !any_field {
                    continue;
                }
                (!prices.is_empty()).then_some(Json::Array(prices))
            }
            AttributeType::Boolean => match first(&name).as_deref() {
                None => continue,
                Some("") => None,
                Some("true") => Some(Json::Bool(true)),
                Some("false") => Some(Json::Bool(false)),
                Some(other) => {
                    errors.push(FieldError::field(
                        &attribute.code,
                        format!("{other:?} is not yes or no"),
                    ));
                    continue;
                }
            },
            AttributeType::Assets => match first(&name) {
                None => continue,
                Some(text) if text.is_empty() => None,
                Some(text) => Some(Json::Array(
                    text.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(Json::from)
                        .collect(),
                )),
            },
            _ => match form.get(&name).and_then(|v| v.first()) {
                None => continue,
                Some(text) if text.trim().is_empty() => None,
                // Text keeps its spaces; only empty means "no value".
                Some(text) => Some(Json::from(text.clone())),
            },
        };
        changes.values.push(ValueChange { key, data });
    }
    if form.contains_key("structure") {
        changes.enabled = Some(
            form.get("enabled")
                .is_some_and(|v| v.iter().any(|x| x == "true")),
        );
        changes.categories = Some(form.get("categories").cloned().unwrap_or_default());
    }
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(errors)
    }
}

/// `POST /products/{sku}`
async fn save(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(sku): Path<String>,
    RawForm(body): RawForm,
) -> PageResult {
    session
        .caller()
        .require(&Permission::EditCatalog)
        .map_err(AppError::from)?;
    let mut form: Submitted = HashMap::new();
    for (key, value) in url::form_urlencoded::parse(&body) {
        form.entry(key.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    save_form(&state, &session, &sku, &form, true, &|back, notice| {
        format!("{back}&notice={notice}")
    })
    .await
}

/// Where a saved form goes: from the page's address (with its locale and
/// channel) and the notice code of what the save did.
type AfterSave<'a> = &'a (dyn Fn(&str, &'static str) -> String + Sync);

/// Saves a product form (the page's own, or one the media section builds:
/// an `assets` field and what it showed) through the merge and the write
/// path, based on the form's `version`: a refused form is shown again
/// (422/403) — with the input kept when `keep_input` (the page's own form;
/// the media section's forms are not the page's, so the page shows master
/// and the errors) — and a form saved over newer data gets the 409 page.
async fn save_form(
    state: &AppState,
    session: &Session,
    sku: &str,
    form: &Submitted,
    keep_input: bool,
    after: AfterSave<'_>,
) -> PageResult {
    let caller = session.caller();
    let single = |name: &str| {
        form.get(name)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    };
    let schema = state.schema.get(&state.db).await?;
    let (stored, model) = load(state, sku).await?;
    let locale = pick(
        Some(&single("locale")),
        schema.locales.iter().map(|l| l.code.as_str()),
    );
    let channel = pick(
        Some(&single("channel")),
        schema.channels.iter().map(|c| c.code.as_str()),
    );
    let base: i64 = single("version").parse().map_err(|_| {
        AppError::BadRequest("The form is missing its version; reload the page.".to_owned())
    })?;
    if base < 1 || base > stored.product.version {
        return Err(AppError::BadRequest(format!(
            "The form names version {base}, which this product never had; reload the page."
        ))
        .into());
    }
    // The page again, with the user's input kept and the errors beside their
    // fields. The input is what they made of version `base`, so the form
    // stays based on it: saving it again merges like the first save.
    let rerender = async |errors: &[FieldError]| {
        let mut page = build_page(
            state,
            session,
            &schema,
            &stored,
            model.as_ref(),
            &locale,
            &channel,
            keep_input.then_some(form),
            errors,
            None,
        )
        .await?;
        if keep_input {
            page.form_version = base;
        }
        Ok::<_, PageError>(page)
    };
    let changes = match changes_from_form(&schema, &stored.product, form, &locale, &channel) {
        Ok(changes) => changes,
        Err(errors) => {
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &rerender(&errors).await?,
            ));
        }
    };
    // On the 409 page the person chose, per clashing field, to keep theirs
    // (the colleague's saved value) or yours.
    let keep_theirs: Vec<String> = form
        .iter()
        .filter_map(|(name, chosen)| {
            let field = name.strip_prefix("keep.")?;
            chosen
                .iter()
                .any(|c| c == "theirs")
                .then(|| field.to_owned())
        })
        .collect();
    let changes = merge::without_fields(&changes, &keep_theirs);
    // What the form showed when it was opened (its hidden `seen.` fields),
    // read like the input; a form without them is compared with history.
    let seen_form: Submitted = form
        .iter()
        .filter_map(|(name, values)| Some((name.strip_prefix("seen.")?.to_owned(), values.clone())))
        .collect();
    let seen = if seen_form.is_empty() {
        None
    } else {
        changes_from_form(&schema, &stored.product, &seen_form, &locale, &channel).ok()
    };
    let back = format!(
        "/products/{}?locale={}&channel={}",
        urlencode(&stored.product.sku),
        urlencode(&locale),
        urlencode(&channel)
    );
    // Only the fields the person changed (compared with the version they
    // saw) are saved over a product that moved on; a field a colleague
    // changed too is shown side by side. A write that slips in between is
    // merged again.
    let mut attempts = 0;
    let (merged, outcome) = loop {
        let merged = merge::onto_current(
            &state.db,
            &schema,
            session.user.id,
            &stored.product.sku,
            base,
            &changes,
            seen.as_ref(),
        )
        .await
        .map_err(AppError::from)?;
        // A form saved over newer data is refused (DESIGN rule 6) even when
        // the fields do not overlap: the person sees what their colleague
        // did first. The 409 page carries the current version and only
        // their own fields, so "Save again" applies exactly those.
        let moved_on = merged.version != base && !merged.changes.is_empty();
        if moved_on || !merged.clashes.is_empty() {
            let page = conflict_page(
                state,
                session,
                &stored.product.sku,
                form,
                base,
                &merged,
                &locale,
                &channel,
            )
            .await?;
            return Ok(render(StatusCode::CONFLICT, &page));
        }
        // Fast-lane values are written now; reviewed ones go to the author's draft.
        let edit = proposals::Edit {
            sku: &stored.product.sku,
            base_version: merged.version,
            changes: &merged.changes,
            submit_note: None,
        };
        match proposals::edit(&state.db, &schema, &caller, edit, state.clock.now()).await {
            Err(WorkflowError::Write(WriteError::Stale { .. })) if attempts < 3 => attempts += 1,
            Ok(edited) => break (merged, Ok(edited)),
            Err(WorkflowError::Write(err)) => break (merged, Err(err)),
            Err(other) => return Err(AppError::from(other).into()),
        }
    };
    match outcome {
        Ok(edited) => {
            let wrote = edited.product.version > merged.version;
            let drafted = edited
                .proposal
                .as_ref()
                .is_some_and(|p| p.status == Status::Draft);
            let notice = match (wrote, drafted) {
                (true, true) => "product_saved_and_drafted",
                (false, true) => "draft_saved",
                (true, false) => "product_saved",
                (false, false) => "product_unchanged",
            };
            Ok(Redirect::to(&after(&back, notice)).into_response())
        }
        Err(WriteError::Stale { .. }) => {
            let page = conflict_page(
                state,
                session,
                &stored.product.sku,
                form,
                base,
                &merged,
                &locale,
                &channel,
            )
            .await?;
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(WriteError::Invalid(errors)) => Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &rerender(&errors).await?,
        )),
        Err(WriteError::Forbidden(errors)) => {
            Ok(render(StatusCode::FORBIDDEN, &rerender(&errors).await?))
        }
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// A form of the media section refused before anything was saved: the
/// page as it is, at `status`, with `errors` at the top and beside their
/// fields.
async fn refused(
    state: &AppState,
    session: &Session,
    sku: &str,
    form: &Submitted,
    errors: &[FieldError],
    status: StatusCode,
) -> PageResult {
    let schema = state.schema.get(&state.db).await?;
    let (stored, model) = load(state, sku).await?;
    let single = |name: &str| form.get(name).and_then(|v| v.first()).cloned();
    let locale = pick(
        single("locale").as_deref(),
        schema.locales.iter().map(|l| l.code.as_str()),
    );
    let channel = pick(
        single("channel").as_deref(),
        schema.channels.iter().map(|c| c.code.as_str()),
    );
    let page = build_page(
        state,
        session,
        &schema,
        &stored,
        model.as_ref(),
        &locale,
        &channel,
        None,
        errors,
        None,
    )
    .await?;
    Ok(render(status, &page))
}

/// The submitted form cut down to the fields the person changed: every
/// other field shows master as it is now (with the person's draft), so
/// saving the page again cannot write back the values they first saw.
fn only_fields(form: &Submitted, fields: &[String], shown: &Product) -> Submitted {
    let of_field = |name: &str| {
        name.strip_prefix("v.").is_some_and(|rest| {
            fields.iter().any(|field| {
                rest.strip_prefix(field.as_str())
                    .is_some_and(|tail| tail.is_empty() || tail.starts_with('.'))
            })
        })
    };
    let mut kept: Submitted = form
        .iter()
        .filter(|(name, _)| of_field(name))
        .map(|(name, values)| (name.clone(), values.clone()))
        .collect();
    let mine = |field: &str| fields.iter().any(|f| f == field);
    let enabled = if mine("enabled") {
        form.get("enabled").cloned().unwrap_or_default()
    } else if shown.enabled {
        vec!["true".to_owned()]
    } else {
        Vec::new()
    };
    kept.insert("enabled".to_owned(), enabled);
    let categories = if mine("categories") {
        form.get("categories").cloned().unwrap_or_default()
    } else {
        shown.categories.clone()
    };
    kept.insert("categories".to_owned(), categories);
    kept
}

/// The 409 page: what changed since the form's version, the fields both
/// people changed side by side with a choice, the person's own changes
/// kept, everything else as master has it now, and the new version, so
/// that saving again applies the person's changes and their choices only.
#[expect(
    clippy::too_many_arguments,
    reason = "the page's inputs are all distinct"
)]
async fn conflict_page(
    state: &AppState,
    session: &Session,
    sku: &str,
    form: &Submitted,
    base: i64,
    merged: &Merged,
    locale: &str,
    channel: &str,
) -> Result<ProductPage, PageError> {
    let schema = state.schema.get(&state.db).await?;
    let (stored, model) = load(state, sku).await?;
    let draft = proposals::draft_of(&state.db, stored.product.id, session.user.id).await?;
    let (shown, _) = proposals::with_draft(&stored.product, draft.as_ref());
    // The person's fields: values, then clashes, then enabled and categories.
    let (values, structure): (Vec<_>, Vec<_>) =
        merged.changes.targets().partition(|t| t.is_value());
    let fields: Vec<String> = values
        .iter()
        .map(|t| t.field().to_owned())
        .chain(merged.clashes.iter().map(|c| c.field.clone()))
        .chain(structure.iter().map(|t| t.field().to_owned()))
        .collect();
    let kept = only_fields(form, &fields, &shown);
    let current = stored.product.version;
    let newer = history::versions(
        &state.db,
        stored.product.id,
        current.saturating_sub(base).clamp(1, 50),
    )
    .await?
    .into_iter()
    .flat_map(|v| version_row(v, Labels::new(&schema, locale)).changes)
    .collect();
    let mut page = build_page(
        state,
        session,
        &schema,
        &stored,
        model.as_ref(),
        locale,
        channel,
        Some(&kept),
        &[],
        None,
    )
    .await?;
    page.alert = Some(if merged.clashes.is_empty() {
        format!(
            "Someone saved this product while you were editing it (version {base} → {current}). \
             Their changes are listed below and shown in the form; your changes are kept. \
             Save again to apply yours."
        )
    } else {
        format!(
            "Someone saved this product while you were editing it (version {base} → {current}). \
             Nothing was saved. Their changes are listed below and shown in the form; your \
             changes are kept. You both changed the fields under \"Changed by both of you\": \
             choose theirs or yours for each, then save again."
        )
    });
    // The form is now based on master as it is: it saw what it shows.
    page.seen = seen_of(&page.groups, &shown);
    page.conflicts = newer;
    let labels = Labels::new(&schema, locale);
    page.clashes = merged
        .clashes
        .iter()
        .map(|clash| ClashRow {
            name: format!("keep.{}", clash.field),
            label: labels.field(&clash.field),
            theirs: labels.brief(&clash.field, clash.theirs.as_ref()),
            yours: labels.brief(&clash.field, clash.yours.as_ref()),
        })
        .collect();
    Ok(page)
}

#[derive(Debug, Deserialize)]
struct RestoreForm {
    version: i64,
}

/// `POST /products/{sku}/restore`: proposes to bring back a past version.
async fn restore(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(sku): Path<String>,
    crate::web::extract::PageForm(form): crate::web::extract::PageForm<RestoreForm>,
) -> PageResult {
    let schema = state.schema.get(&state.db).await?;
    let proposal = proposals::restore(
        &state.db,
        &schema,
        &session.caller(),
        &sku,
        form.version,
        state.clock.now(),
    )
    .await
    .map_err(AppError::from)?;
    Ok(Redirect::to(&format!(
        "/proposals/{}?notice=restore_proposed",
        proposal.id
    ))
    .into_response())
}
