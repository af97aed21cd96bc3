//! A statement assembled piece by piece with its values bound as they come:
//! `sqlx::QueryBuilder` for the `Any` driver.
//!
//! `QueryBuilder<Any>` itself writes `?` for every placeholder (its
//! `AnyArguments` cannot know the backend yet), which PostgreSQL refuses
//! (launchbadge/sqlx#3000). This one knows the backend: `$1, $2, …` on
//! PostgreSQL, anonymous `?` on SQLite (bound in order, and cheap for long
//! lists, see [`super::bulk`]). A value used twice is bound twice, so the
//! two styles never mix in one statement.

use std::fmt::Write;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Executor};

use super::Backend;
use super::bulk::{self, Param};

/// A statement being built: SQL text and the values bound to its placeholders.
#[derive(Debug, Clone)]
pub struct SqlBuilder {
    backend: Backend,
    sql: String,
    params: Vec<Param>,
}

impl SqlBuilder {
    pub fn new(backend: Backend, init: &str) -> Self {
        Self {
            backend,
            sql: init.to_owned(),
            params: Vec::new(),
        }
    }

    /// Appends SQL text (never a value: values go through [`Self::push_bind`]).
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder and binds `param` to it.
    pub fn push_bind(&mut self, param: Param) -> &mut Self {
        self.params.push(param);
        match self.backend {
            Backend::Sqlite => self.sql.push('?'),
            // Writing to a String cannot fail.
            Backend::Postgres => {
                let _ = write!(self.sql, "${}", self.params.len());
            }
        }
        self
    }

    /// Appends `a, b, c`: one bound placeholder per value.
    pub fn push_list(&mut self, params: impl IntoIterator<Item = Param>) -> &mut Self {
        for (i, param) in params.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.push_bind(param);
        }
        self
    }

    /// How many values are bound so far.
    pub fn bound(&self) -> usize {
        self.params.len()
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The statement, ready to run.
    pub fn build(self) -> sqlx::query::Query<'static, Any, AnyArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for param in self.params {
            query = bulk::bind(query, param);
        }
        query
    }

    pub async fn fetch_all<'e, E: Executor<'e, Database = Any>>(
        self,
        executor: E,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        self.build().fetch_all(executor).await
    }

    pub async fn execute<'e, E: Executor<'e, Database = Any>>(
        self,
        executor: E,
    ) -> Result<u64, sqlx::Error> {
        Ok(self.build().execute(executor).await?.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(backend: Backend) -> SqlBuilder {
        let mut sql = SqlBuilder::new(backend, "SELECT 1 FROM t WHERE a = ");
        sql.push_bind(Param::Int(1))
            .push(" AND b IN (")
            .push_list([Param::Int(2), Param::Int(3)])
            .push(")");
        sql
    }

    #[test]
    fn numbers_placeholders_on_postgres() {
        let sql = sample(Backend::Postgres);
        assert_eq!(sql.sql(), "SELECT 1 FROM t WHERE a = $1 AND b IN ($2, $3)");
        assert_eq!(sql.bound(), 3);
    }

    #[test]
    fn binds_in_order_on_sqlite() {
        let sql = sample(Backend::Sqlite);
        assert_eq!(sql.sql(), "SELECT 1 FROM t WHERE a = ? AND b IN (?, ?)");
        assert_eq!(sql.bound(), 3);
    }
}
