//! Catalog seeding shared by the integration modules: the fixture schema,
//! value changes, and products written by the system (an approved write, as
//! an import would make).

use serde_json::Value;
use sluice::audit::Actor;
use sluice::catalog::product::{Product, ProductKind, ValueKey};
use sluice::catalog::schema::Schema;
use sluice::catalog::store;
use sluice::schema_code;
use sluice::workflow::write::{self, ChangeSet, NewProduct, ValueChange, Writer};

use crate::TestApp;

/// `(attribute, locale, channel, data)`; `Value::Null` data removes the value.
pub type Val<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Value);

/// The system as a writer: its writes are approved and may set ERP-owned values.
pub fn system() -> Writer {
    Writer::System(Actor::system("test"))
}

/// Applies the fixture schema, changed by `edit`, and answers it as stored.
pub async fn setup_with(app: &TestApp, edit: impl FnOnce(&mut Schema)) -> Schema {
    let mut desired = schema_code::parse(include_str!("fixtures/catalog.toml")).expect("fixture");
    edit(&mut desired);
    schema_code::apply(
        app.db(),
        &Actor::system("test"),
        &desired,
        false,
        false,
        app.clock().now(),
    )
    .await
    .expect("schema applies");
    store::load_schema(app.db().pool()).await.expect("schema")
}

/// Value changes for `values`; `Value::Null` data removes a value.
pub fn changes(values: &[Val<'_>]) -> Vec<ValueChange> {
    values
        .iter()
        .map(|(attribute, locale, channel, data)| ValueChange {
            key: ValueKey::new(attribute, *locale, *channel),
            data: (!data.is_null()).then(|| data.clone()),
        })
        .collect()
}

/// An enabled product with no categories and no values; callers add those
/// with struct update syntax (`NewProduct { values, ..new_product(..) }`).
pub fn new_product(sku: &str, kind: ProductKind, family: &str, parent: Option<&str>) -> NewProduct {
    NewProduct {
        sku: sku.to_owned(),
        kind,
        family: family.to_owned(),
        parent: parent.map(str::to_owned),
        enabled: true,
        categories: Vec::new(),
        values: Vec::new(),
    }
}

/// Category codes as a product holds them.
pub fn categories(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|c| (*c).to_owned()).collect()
}

impl TestApp {
    /// The product `sku` as stored (its master values), if there is one.
    pub async fn stored(&self, sku: &str) -> Option<Product> {
        store::find(self.db().pool(), sku)
            .await
            .expect("find")
            .map(|s| s.product)
    }

    /// The schema as stored.
    pub async fn schema(&self) -> Schema {
        store::load_schema(self.db().pool()).await.expect("schema")
    }

    /// Creates `product` as the system (an approved write).
    pub async fn create_as_system(&self, schema: &Schema, product: NewProduct) {
        let sku = product.sku.clone();
        write::create(self.db(), schema, &system(), product, self.clock().now())
            .await
            .unwrap_or_else(|err| panic!("create {sku}: {err}"));
    }

    /// Applies `change` to `sku` as the system (an approved write).
    pub async fn update_as_system(&self, schema: &Schema, sku: &str, change: &ChangeSet) {
        write::update(
            self.db(),
            schema,
            &system(),
            sku,
            None,
            change,
            self.clock().now(),
        )
        .await
        .unwrap_or_else(|err| panic!("update {sku}: {err}"));
    }
}
