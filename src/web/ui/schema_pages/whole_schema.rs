//! The whole schema as code: the browser twin of `sluice schema export/apply`,
//! and its download.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::current_schema;
use super::editor::{CodeForm, CodePage, Intent, Problems, submit};
use crate::auth::sessions::Session;
use crate::schema_code::{self, SchemaError};
use crate::web::authz::AdminPage;
use crate::web::error::AppError;
use crate::web::extract::PageForm;
use crate::web::ui::{Chrome, NoticeQuery, render, settings_nav};
use crate::web::{AppState, PageResult};

// ---- the whole schema ----

pub(super) const SCHEMA_HINT: &str = "The same format as `sluice schema export` and `sluice schema apply`: \
    [[locales]], [[currencies]], [[channels]], [[groups]], [[attributes]], [[families]] and \
    [[categories]] and [[media_presets]] (rendition sizes; all five defaults are listed when \
    none are set). Entities left out are deleted; order is position.";

pub(super) fn whole_schema_page(
    session: &Session,
    definition: String,
    notice: Option<&str>,
) -> CodePage {
    CodePage {
        chrome: Chrome::new(session, "/settings", notice),
        settings_nav: settings_nav("/settings/schema"),
        title: "Schema as code".to_owned(),
        back: None,
        action_href: "/settings/schema".to_owned(),
        deletable: false,
        whole_schema: true,
        hint: SCHEMA_HINT,
        definition,
        allow_destructive: false,
        problems: None,
        plan: None,
        publishing: None,
    }
}

/// `GET /settings/schema`
pub(super) async fn schema_page(
    State(state): State<AppState>,
    admin: AdminPage,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let text = schema_code::export(&schema).map_err(AppError::from)?;
    let page = whole_schema_page(&session, text, query.notice.as_deref());
    Ok(render(StatusCode::OK, &page))
}

/// `POST /settings/schema`: preview or apply the whole schema.
pub(super) async fn apply_schema(
    State(state): State<AppState>,
    admin: AdminPage,
    PageForm(form): PageForm<CodeForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let intent = match Intent::parse(&form.action)? {
        Intent::Delete => {
            return Err(AppError::BadRequest("unknown action \"delete\"".to_owned()).into());
        }
        intent => intent,
    };
    let desired = schema_code::parse(&form.definition).map_err(|err| match err {
        SchemaError::Syntax(message) => Problems::one("The TOML could not be read.", message),
        other => Problems::one("The schema could not be read.", other.to_string()),
    });
    let mut page = whole_schema_page(&session, form.definition, None);
    page.allow_destructive = form.allow_destructive;
    let done = "/settings/schema?notice=schema_applied".to_owned();
    submit(&state, &actor, page, desired, intent, done).await
}

/// `GET /settings/schema.toml`: the schema as a file, like `sluice schema export`.
pub(super) async fn download_schema(State(state): State<AppState>, _: AdminPage) -> PageResult {
    let schema = current_schema(&state).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/toml"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"catalog.toml\"",
            ),
        ],
        schema_code::export(&schema).map_err(AppError::from)?,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use crate::catalog::schema::{Attribute, Category, Channel, Family, Labels, Schema};
    use crate::schema_code;
    use crate::web::ui::schema_pages::SchemaEntity;
    use crate::web::ui::schema_pages::categories::{category_rows, flatten_tree};

    fn category(code: &str, parent: Option<&str>, position: i64) -> Category {
        Category {
            code: code.to_owned(),
            parent: parent.map(str::to_owned),
            labels: Labels::new(),
            position,
        }
    }

    #[test]
    fn the_tree_is_flattened_depth_first_with_siblings_by_position() {
        let categories = vec![
            category("shoes", Some("master"), 2),
            category("master", None, 0),
            category("tops", Some("apparel"), 0),
            category("apparel", Some("master"), 1),
            category("sale", None, 1),
        ];
        let tree: Vec<(usize, &str)> = flatten_tree(&categories)
            .into_iter()
            .map(|(depth, c)| (depth, c.code.as_str()))
            .collect();
        assert_eq!(
            tree,
            [
                (0, "master"),
                (1, "apparel"),
                (2, "tops"),
                (1, "shoes"),
                (0, "sale")
            ]
        );
    }

    #[test]
    fn loops_and_orphans_still_show() {
        let categories = vec![
            category("a", Some("b"), 0),
            category("b", Some("a"), 0),
            category("lost", Some("gone"), 0),
        ];
        let tree = flatten_tree(&categories);
        assert_eq!(tree.len(), 3);
    }

    #[test]
    fn nested_lists_open_and_close_in_balance() {
        let schema = Schema {
            categories: vec![
                category("master", None, 0),
                category("apparel", Some("master"), 0),
                category("tops", Some("apparel"), 0),
                category("sale", None, 1),
            ],
            ..Schema::default()
        };
        let (rows, tail) = category_rows(&schema);
        let opened = rows.iter().filter(|r| r.open_list).count();
        let closed: usize = rows.iter().map(|r| r.close_lists).sum::<usize>() + tail;
        assert_eq!(opened, closed);
        assert!(rows[3].close_item && rows[3].close_lists == 2);
        // A category cannot move below itself.
        assert!(
            !rows[1]
                .targets
                .iter()
                .any(|t| t.code == "tops" || t.code == "apparel")
        );
        assert!(
            rows[2]
                .targets
                .iter()
                .any(|t| t.code == "master" && !t.selected)
        );
        assert!(
            rows[2]
                .targets
                .iter()
                .any(|t| t.code == "apparel" && t.selected)
        );
    }

    #[test]
    fn new_entity_templates_parse() {
        let schema: Schema = schema_code::parse(
            r#"
            [[locales]]
            code = "en_US"
            [[currencies]]
            code = "USD"
            [[channels]]
            code = "web"
            locales = ["en_US"]
            currencies = ["USD"]
            output_format = "json"
            [[groups]]
            code = "marketing"
            [[categories]]
            code = "master"
            "#,
        )
        .expect("schema");
        for empty in [Schema::default(), schema] {
            toml::from_str::<Attribute>(&Attribute::template(&empty)).expect("attribute");
            toml::from_str::<Family>(&Family::template(&empty)).expect("family");
            toml::from_str::<Category>(&Category::template(&empty)).expect("category");
            toml::from_str::<Channel>(&Channel::template(&empty)).expect("channel");
        }
    }
}
