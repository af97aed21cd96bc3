//! Categories: the tree, moving a category under another parent, and a new
//! category's snippet.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{SchemaEntity, current_schema, first_locale, label_of};
use crate::auth::sessions::Session;
use crate::catalog::schema::{Category, Schema};
use crate::catalog::store;
use crate::schema_code::{self, SchemaError};
use crate::web::authz::AdminPage;
use crate::web::error::AppError;
use crate::web::extract::PageForm;
use crate::web::ui::{Chrome, NavItem, NoticeQuery, render, settings_nav};
use crate::web::{AppState, PageResult};

impl SchemaEntity for Category {
    const NOUN: &'static str = "category";
    const PLURAL: &'static str = "categories";
    const TITLE: &'static str = "Categories";
    const HINT: &'static str = "parent: the code of the parent category; leave it out for a root \
        · position: the order among its siblings.";

    fn code(&self) -> &str {
        &self.code
    }
    fn all(schema: &Schema) -> &[Self] {
        &schema.categories
    }
    fn all_mut(schema: &mut Schema) -> &mut Vec<Self> {
        &mut schema.categories
    }
    fn template(schema: &Schema) -> String {
        let locale = first_locale(schema);
        let parent = match schema.categories.iter().find(|c| c.parent.is_none()) {
            Some(root) => format!("parent = \"{}\"\n", root.code),
            None => "# parent = \"\"\n".to_owned(),
        };
        format!(
            "# A new category: give it a code (lower-case letters, digits and _).\n\
             code = \"\"\n\
             {parent}\
             position = 0\n\
             \n\
             [labels]\n\
             {locale} = \"\"\n"
        )
    }
}

/// A category the move form may pick as the new parent.
pub(super) struct MoveTarget {
    pub(super) code: String,
    pub(super) path: String,
    pub(super) selected: bool,
}

/// One category of the tree, with what closes and opens the nested lists
/// around it (askama has no recursion, so the nesting is worked out here).
pub(super) struct CategoryRow {
    pub(super) code: String,
    pub(super) label: String,
    /// `</li>` for the previous item before this one.
    pub(super) close_item: bool,
    /// How many `</ul></li>` follow it, climbing back up.
    pub(super) close_lists: usize,
    /// A `<ul>` opens inside the previous item: this one is its first child.
    pub(super) open_list: bool,
    pub(super) targets: Vec<MoveTarget>,
    pub(super) is_root: bool,
}

/// The tree in depth-first order as (depth, category): children after their
/// parent, siblings by position. Categories whose parent is missing, and any
/// caught in a loop, show as roots so nothing disappears.
pub(super) fn flatten_tree(categories: &[Category]) -> Vec<(usize, &Category)> {
    let known: BTreeSet<&str> = categories.iter().map(|c| c.code.as_str()).collect();
    let mut children: BTreeMap<Option<&str>, Vec<&Category>> = BTreeMap::new();
    for category in categories {
        let parent = category
            .parent
            .as_deref()
            .filter(|p| known.contains(p) && *p != category.code);
        children.entry(parent).or_default().push(category);
    }
    for list in children.values_mut() {
        list.sort_by_key(|c| c.position);
    }
    let mut out = Vec::with_capacity(categories.len());
    let mut seen = BTreeSet::new();
    let mut stack: Vec<(usize, &Category)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|c| (0, *c)).collect())
        .unwrap_or_default();
    loop {
        while let Some((depth, category)) = stack.pop() {
            if !seen.insert(category.code.as_str()) {
                continue;
            }
            out.push((depth, category));
            if let Some(kids) = children.get(&Some(category.code.as_str())) {
                stack.extend(kids.iter().rev().map(|c| (depth + 1, *c)));
            }
        }
        // Whatever a loop kept out of reach becomes a root of its own.
        match categories.iter().find(|c| !seen.contains(c.code.as_str())) {
            Some(stray) => stack.push((0, stray)),
            None => break,
        }
    }
    out
}

/// "All products › Apparel › Tops" for every category.
pub(super) fn category_paths(tree: &[(usize, &Category)]) -> BTreeMap<String, String> {
    let mut paths = BTreeMap::new();
    let mut trail: Vec<String> = Vec::new();
    for (depth, category) in tree {
        trail.truncate(*depth);
        trail.push(label_of(&category.labels, &category.code).to_owned());
        paths.insert(category.code.clone(), trail.join(" › "));
    }
    paths
}

pub(super) fn category_rows(schema: &Schema) -> (Vec<CategoryRow>, usize) {
    let tree = flatten_tree(&schema.categories);
    let paths = category_paths(&tree);
    let mut rows = Vec::with_capacity(tree.len());
    let mut previous: Option<usize> = None;
    for (depth, category) in &tree {
        let (close_item, close_lists, open_list) = match previous {
            None => (false, 0, false),
            Some(before) if *depth > before => (false, 0, true),
            Some(before) => (true, before - depth, false),
        };
        let targets = tree
            .iter()
            .filter(|(_, other)| !schema.category_within(&other.code, &category.code))
            .map(|(_, other)| MoveTarget {
                code: other.code.clone(),
                path: paths.get(&other.code).cloned().unwrap_or_default(),
                selected: category.parent.as_deref() == Some(other.code.as_str()),
            })
            .collect();
        rows.push(CategoryRow {
            code: category.code.clone(),
            label: label_of(&category.labels, &category.code).to_owned(),
            close_item,
            close_lists,
            open_list,
            targets,
            is_root: category.parent.is_none(),
        });
        previous = Some(*depth);
    }
    (rows, previous.unwrap_or(0))
}

/// A move that failed, shown next to its form.
pub(super) struct MoveError {
    pub(super) code: String,
    pub(super) message: String,
}

#[derive(Template)]
#[template(path = "settings/schema/categories.html")]
pub(super) struct CategoriesPage {
    pub(super) chrome: Chrome,
    pub(super) settings_nav: Vec<NavItem>,
    pub(super) rows: Vec<CategoryRow>,
    /// `</ul></li>` needed after the last item.
    pub(super) tail_lists: usize,
    pub(super) move_error: Option<MoveError>,
}

impl CategoriesPage {
    pub(super) fn error_for(&self, code: &str) -> Option<&str> {
        self.move_error
            .as_ref()
            .filter(|e| e.code == code)
            .map(|e| e.message.as_str())
    }
}

pub(super) fn categories_page(
    session: &Session,
    schema: &Schema,
    notice: Option<&str>,
    move_error: Option<MoveError>,
) -> CategoriesPage {
    let (rows, tail_lists) = category_rows(schema);
    CategoriesPage {
        chrome: Chrome::new(session, "/settings", notice),
        settings_nav: settings_nav("/settings/categories"),
        rows,
        tail_lists,
        move_error,
    }
}

/// `GET /settings/categories`
pub(super) async fn categories(
    State(state): State<AppState>,
    admin: AdminPage,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let page = categories_page(&session, &schema, query.notice.as_deref(), None);
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub(super) struct MoveForm {
    /// The new parent's code; empty for a root.
    #[serde(default)]
    pub(super) parent: String,
}

/// `POST /settings/categories/{code}/move`
pub(super) async fn move_category(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
    PageForm(form): PageForm<MoveForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let mut desired = store::load_schema(state.db.pool())
        .await
        .map_err(AppError::from)?;
    let Some(category) = desired.categories.iter_mut().find(|c| c.code == code) else {
        return Err(AppError::NotFound(format!("There is no category {code}.")).into());
    };
    let parent = form.parent.trim();
    category.parent = (!parent.is_empty()).then(|| parent.to_owned());
    let message = match schema_code::apply(
        &state.db,
        &actor,
        &desired,
        false,
        false,
        state.clock.now(),
    )
    .await
    {
        Ok(applied) => {
            let notice = if applied.plan.is_empty() {
                "schema_unchanged"
            } else {
                "category_moved"
            };
            return Ok(
                Redirect::to(&format!("/settings/categories?notice={notice}")).into_response(),
            );
        }
        Err(SchemaError::Invalid(problems)) => problems.join("; "),
        Err(SchemaError::Destructive(steps)) => steps.join("; "),
        Err(SchemaError::Syntax(message)) => message,
        Err(other) => return Err(AppError::from(other).into()),
    };
    let schema = current_schema(&state).await?;
    let page = categories_page(&session, &schema, None, Some(MoveError { code, message }));
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
