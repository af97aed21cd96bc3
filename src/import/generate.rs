//! `sluice generate-erp`: a synthetic ERP item export with what real ones
//! carry — realistic SKUs, GTINs with valid check digits, weights and
//! dimensions in mixed units, prices, stock, tax classes, apparel and
//! footwear with variants — and, with `--messy`, what real files get wrong:
//! a BOM, `;` delimiters, decimal commas, GTINs that lost their leading zero,
//! quoted line breaks, duplicate SKUs, unknown item groups and Excel's
//! scientific notation. Deterministic for a given seed; written as a stream.

use std::io::{self, Write};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::catalog::gtin;

/// The columns, in order (20 of them).
pub const COLUMNS: [&str; 20] = [
    "item_code",
    "item_name",
    "item_group",
    "variant_of",
    "color",
    "size",
    "brand",
    "gtin",
    "mpn",
    "weight",
    "weight_uom",
    "length",
    "width",
    "height",
    "dimension_uom",
    "price",
    "currency",
    "stock_qty",
    "tax_class",
    "country_of_origin",
];

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct GenerateOptions {
    /// Rows to write (models and variants count as rows).
    pub items: usize,
    /// Apparel with color/size and footwear with size variants.
    pub variants: bool,
    /// The faults real files have.
    pub messy: bool,
    pub seed: u64,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerateReport {
    pub rows: usize,
    pub models: usize,
    pub variants: usize,
    /// Rows written twice on purpose (messy).
    pub duplicates: usize,
    /// Rows with a fault on purpose (messy), duplicates included.
    pub faulty: usize,
}

const BRANDS: [&str; 8] = [
    "Northwind",
    "Alder & Pine",
    "Kestrel",
    "Bluefjord",
    "Ridgeline",
    "Stridewell",
    "Voltaic",
    "Sonora",
];
const COLORS: [&str; 6] = ["Black", "White", "Navy", "Grey", "Red", "Olive"];
const SIZES: [&str; 5] = ["S", "M", "L", "XL", "XXL"];
const SHOE_SIZES: [&str; 6] = ["40", "41", "42", "43", "44", "45"];
const COUNTRIES: [&str; 6] = ["PT", "VN", "CN", "TR", "DE", "IT"];
const APPAREL: [&str; 5] = [
    "Softshell Jacket",
    "Merino Tee",
    "Trail Shorts",
    "Rain Shell",
    "Fleece Hoodie",
];
const FOOTWEAR: [&str; 4] = [
    "Trail Runner",
    "Hiking Boot",
    "Court Sneaker",
    "Approach Shoe",
];
const ELECTRONICS: [&str; 5] = [
    "Bluetooth Speaker",
    "Noise-Cancelling Headphones",
    "USB-C Charger",
    "Smart Lamp",
    "Portable SSD",
];

/// A GTIN-13 (or, one in five, a UPC-A of 12 digits) with a valid check digit.
fn gtin_for(rng: &mut StdRng) -> String {
    let length = if rng.gen_ratio(1, 5) { 11 } else { 12 };
    let mut data: String = (0..length)
        .map(|_| char::from(b'0' + rng.gen_range(0..10)))
        .collect();
    if length == 12 {
        // A GS1 company prefix never starts with 0 in EAN-13.
        data.replace_range(0..1, &rng.gen_range(1..10).to_string());
    } else {
        // UPC-A that a spreadsheet may strip: starts with 0.
        data.replace_range(0..1, "0");
    }
    let check = gtin::check_digit(&data).unwrap_or(0);
    format!("{data}{check}")
}

fn decimal(value: f64, decimals: usize, comma: bool) -> String {
    let text = format!("{value:.decimals$}");
    if comma { text.replace('.', ",") } else { text }
}

struct Writer<W: Write> {
    csv: csv::Writer<W>,
    report: GenerateReport,
}

/// Writes the export to `out`.
pub fn generate<W: Write>(mut out: W, options: GenerateOptions) -> io::Result<GenerateReport> {
    if options.messy {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let csv = csv::WriterBuilder::new()
        .delimiter(if options.messy { b';' } else { b',' })
        .from_writer(out);
    let mut writer = Writer {
        csv,
        report: GenerateReport::default(),
    };
    writer.csv.write_record(COLUMNS).map_err(io::Error::other)?;
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut serial = 100_000;
    while writer.report.rows < options.items {
        serial += 1;
        let kind = rng.gen_range(0..10);
        if options.variants && kind < 4 {
            apparel(&mut writer, &mut rng, serial, options)?;
        } else if options.variants && kind < 6 {
            footwear(&mut writer, &mut rng, serial, options)?;
        } else {
            electronics(&mut writer, &mut rng, serial, options)?;
        }
    }
    writer.csv.flush()?;
    Ok(writer.report)
}

/// One row's fields, by column.
type Row = [String; 20];

#[expect(clippy::too_many_arguments, reason = "one row of an export")]
fn row(
    code: &str,
    name: &str,
    group: &str,
    variant_of: &str,
    color: &str,
    size: &str,
    brand: &str,
    rng: &mut StdRng,
) -> Row {
    let (weight, weight_uom) = match rng.gen_range(0..3) {
        0 => (rng.gen_range(80.0..2500.0), "g"),
        1 => (rng.gen_range(0.08..2.5), "kg"),
        _ => (rng.gen_range(0.2..5.5), "lb"),
    };
    let (scale, dimension_uom) = match rng.gen_range(0..3) {
        0 => (1.0, "cm"),
        1 => (10.0, "mm"),
        _ => (0.3937, "in"),
    };
    let price = f64::from(rng.gen_range(9..400)) + 0.99;
    [
        code.to_owned(),
        name.to_owned(),
        group.to_owned(),
        variant_of.to_owned(),
        color.to_owned(),
        size.to_owned(),
        brand.to_owned(),
        gtin_for(rng),
        format!(
            "{}-{}",
            brand.chars().take(3).collect::<String>().to_uppercase(),
            rng.gen_range(1000..9999)
        ),
        decimal(weight, 3, false),
        weight_uom.to_owned(),
        decimal(rng.gen_range(5.0..60.0) * scale, 1, false),
        decimal(rng.gen_range(5.0..40.0) * scale, 1, false),
        decimal(rng.gen_range(1.0..20.0) * scale, 1, false),
        dimension_uom.to_owned(),
        decimal(price, 2, false),
        if rng.gen_ratio(1, 4) { "EUR" } else { "USD" }.to_owned(),
        rng.gen_range(0..500).to_string(),
        ["standard", "standard", "standard", "reduced", "zero"][rng.gen_range(0..5)].to_owned(),
        COUNTRIES[rng.gen_range(0..COUNTRIES.len())].to_owned(),
    ]
}

impl<W: Write> Writer<W> {
    /// Writes a row, first spoiling it in one of the ways real files are spoilt.
    fn write(
        &mut self,
        mut fields: Row,
        rng: &mut StdRng,
        options: GenerateOptions,
    ) -> io::Result<()> {
        let mut duplicate = false;
        if options.messy {
            // Decimal commas throughout a messy file, as a German ERP writes them.
            for index in [9, 11, 12, 13, 15] {
                fields[index] = fields[index].replace('.', ",");
            }
            match rng.gen_range(0..40) {
                0 if fields[7].starts_with('0') => {
                    // A spreadsheet dropped the leading zero.
                    fields[7] = fields[7].trim_start_matches('0').to_owned();
                    self.report.faulty += 1;
                }
                1 => {
                    // Excel's scientific notation for a long number.
                    let digits = &fields[7];
                    fields[7] = format!("{}.{}E+{}", &digits[..1], &digits[1..6], digits.len() - 1);
                    self.report.faulty += 1;
                }
                2 => {
                    fields[1] = format!("{}\n(discontinued colour)", fields[1]);
                    self.report.faulty += 1;
                }
                3 => {
                    fields[2] = "Misc Gadgets".to_owned();
                    self.report.faulty += 1;
                }
                4 => duplicate = true,
                _ => {}
            }
        }
        self.csv.write_record(&fields).map_err(io::Error::other)?;
        self.report.rows += 1;
        if duplicate && self.report.rows < options.items {
            self.csv.write_record(&fields).map_err(io::Error::other)?;
            self.report.rows += 1;
            self.report.duplicates += 1;
            self.report.faulty += 1;
        }
        Ok(())
    }
}

fn apparel<W: Write>(
    writer: &mut Writer<W>,
    rng: &mut StdRng,
    serial: u32,
    options: GenerateOptions,
) -> io::Result<()> {
    let brand = BRANDS[rng.gen_range(0..BRANDS.len())];
    let name = format!("{brand} {}", APPAREL[rng.gen_range(0..APPAREL.len())]);
    let model = format!("APP-{serial}");
    writer.write(
        row(&model, &name, "apparel", "", "", "", brand, rng),
        rng,
        options,
    )?;
    writer.report.models += 1;
    let colors = rng.gen_range(1..=3);
    for color in COLORS.iter().skip(rng.gen_range(0..3)).take(colors) {
        for size in SIZES.iter().take(rng.gen_range(2..=SIZES.len())) {
            if writer.report.rows >= options.items {
                return Ok(());
            }
            let code = format!("{model}-{}-{size}", color.to_uppercase());
            writer.write(
                row(
                    &code,
                    &format!("{name} {color} {size}"),
                    "apparel",
                    &model,
                    color,
                    size,
                    brand,
                    rng,
                ),
                rng,
                options,
            )?;
            writer.report.variants += 1;
        }
    }
    Ok(())
}

fn footwear<W: Write>(
    writer: &mut Writer<W>,
    rng: &mut StdRng,
    serial: u32,
    options: GenerateOptions,
) -> io::Result<()> {
    let brand = BRANDS[rng.gen_range(0..BRANDS.len())];
    let name = format!("{brand} {}", FOOTWEAR[rng.gen_range(0..FOOTWEAR.len())]);
    let model = format!("FTW-{serial}");
    writer.write(
        row(&model, &name, "footwear", "", "", "", brand, rng),
        rng,
        options,
    )?;
    writer.report.models += 1;
    for size in SHOE_SIZES
        .iter()
        .skip(rng.gen_range(0..2))
        .take(rng.gen_range(3..=5))
    {
        if writer.report.rows >= options.items {
            return Ok(());
        }
        let code = format!("{model}-{size}");
        writer.write(
            row(
                &code,
                &format!("{name} {size}"),
                "footwear",
                &model,
                "",
                size,
                brand,
                rng,
            ),
            rng,
            options,
        )?;
        writer.report.variants += 1;
    }
    Ok(())
}

fn electronics<W: Write>(
    writer: &mut Writer<W>,
    rng: &mut StdRng,
    serial: u32,
    options: GenerateOptions,
) -> io::Result<()> {
    let brand = BRANDS[rng.gen_range(0..BRANDS.len())];
    let name = format!(
        "{brand} {}",
        ELECTRONICS[rng.gen_range(0..ELECTRONICS.len())]
    );
    writer.write(
        row(
            &format!("ELE-{serial}"),
            &name,
            "electronics",
            "",
            "",
            "",
            brand,
            rng,
        ),
        rng,
        options,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(options: GenerateOptions) -> (Vec<u8>, GenerateReport) {
        let mut out = Vec::new();
        let report = generate(&mut out, options).unwrap();
        (out, report)
    }

    #[test]
    fn clean_files_have_valid_gtins_and_the_asked_row_count() {
        let options = GenerateOptions {
            items: 500,
            variants: true,
            messy: false,
            seed: 7,
        };
        let (bytes, report) = read(options);
        assert_eq!(report.rows, 500);
        assert!(report.models > 0 && report.variants > 0);
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            COLUMNS
        );
        let mut rows = 0;
        for record in reader.records() {
            let record = record.unwrap();
            assert_eq!(record.len(), 20);
            assert!(gtin::validate(&record[7]).is_ok(), "{}", &record[7]);
            assert!(record[15].parse::<f64>().is_ok());
            rows += 1;
        }
        assert_eq!(rows, 500);
        // Deterministic.
        assert_eq!(read(options).0, bytes);
    }

    #[test]
    fn messy_files_carry_the_usual_faults() {
        let (bytes, report) = read(GenerateOptions {
            items: 4000,
            variants: true,
            messy: true,
            seed: 1,
        });
        assert!(bytes.starts_with("\u{feff}".as_bytes()));
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.lines().next().unwrap().contains(';'));
        assert!(text.contains("E+1"), "scientific notation");
        assert!(text.contains("Misc Gadgets"));
        assert!(text.contains("\n(discontinued colour)"));
        assert!(report.duplicates > 0 && report.faulty > report.duplicates);
        assert_eq!(report.rows, 4000);
    }
}
