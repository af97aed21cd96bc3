//! Media figures (issue 14):
//! 1. one 12-megapixel JPEG (4000 × 3000, quality 90, photo-like detail) to
//!    the `preview` preset (1200 px JPEG) with `media::imaging::render`,
//!    against ImageMagick's `convert -thumbnail 1200x1200` on the same file
//!    in the same run (median of N runs each), with the steps apart: decode
//!    whole or scaled, resize, and the JPEG and WebP encoders compared;
//! 2. ingest of generated 1600 × 1200 photos (different bytes each) through
//!    `media::upload::upload` and `media::renditions::drain` on a temporary
//!    SQLite database and `file://` store: assets/s with every default
//!    rendition made, and the peak RSS of that phase.
//!
//! `cargo bench --bench media`; `SLUICE_BENCH_PHOTOS` (default 1000),
//! `SLUICE_BENCH_RUNS` (default 9), `SLUICE_BENCH_WORKERS` (rendition
//! workers, default: the number of cores).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use sqlx::Row;

use sluice::catalog::schema::default_media_presets;
use sluice::config::Config;
use sluice::media::MediaLimits;
use sluice::media::imaging;

/// The same allocator as the `sluice` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Starts a new peak-RSS window (Linux: "5" to clear_refs resets VmHWM).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Milliseconds per call, the median of `runs` after one warm-up.
fn time_ms<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut last = f();
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        last = f();
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    (median(samples), last)
}

/// A photo-like RGB picture: colour gradients, a ripple, film grain and a
/// few discs placed by `seed`, so every seed gives different bytes.
fn photo(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let column: Vec<f32> = (0..width)
        .map(|x| (x as f32 / 37.0 + seed as f32).sin() * 28.0)
        .collect();
    let row: Vec<f32> = (0..height)
        .map(|y| (y as f32 / 53.0).cos() * 28.0)
        .collect();
    let discs: Vec<(f32, f32, f32, [f32; 3])> = (0..6)
        .map(|i| {
            let h = seed.wrapping_mul(2_654_435_761).wrapping_add(i * 40_503);
            (
                (h % width) as f32,
                ((h / 7) % height) as f32,
                (width / 12 + (h % (width / 6))) as f32,
                [
                    (h % 255) as f32,
                    ((h / 3) % 255) as f32,
                    ((h / 11) % 255) as f32,
                ],
            )
        })
        .collect();
    let mut noise = 0x9E37_79B9_u32 ^ seed;
    let mut out = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let grain = (noise & 31) as f32 - 16.0;
            let base = column[x as usize] + row[y as usize] + grain;
            let mut rgb = [
                255.0 * x as f32 / width as f32,
                255.0 * y as f32 / height as f32,
                128.0 + 60.0 * ((x + y) as f32 / (width + height) as f32),
            ];
            for (cx, cy, r, colour) in &discs {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                if dx * dx + dy * dy < r * r {
                    rgb = *colour;
                }
            }
            for channel in rgb {
                out.push((channel + base).clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

fn jpeg_encoder_q(rgb: &[u8], width: u32, height: u32, quality: u8, tuned: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    if tuned {
        encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    }
    encoder
        .encode(
            rgb,
            width as u16,
            height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap();
    out
}

fn image_jpeg_q(rgb: &[u8], width: u32, height: u32, quality: u8) -> Vec<u8> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(rgb, width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// Peak signal-to-noise ratio of a decoded JPEG against the RGB it was
/// made from, in dB.
fn psnr(original: &[u8], encoded: &[u8]) -> f64 {
    let decoded = image::load_from_memory(encoded).unwrap().to_rgb8();
    let squared: f64 = original
        .iter()
        .zip(decoded.as_raw())
        .map(|(a, b)| {
            let d = f64::from(*a) - f64::from(*b);
            d * d
        })
        .sum();
    let mse = squared / original.len() as f64;
    10.0 * (255.0 * 255.0 / mse).log10()
}

fn resize_fir(rgb: &[u8], from: (u32, u32), to: (u32, u32)) -> Vec<u8> {
    use fast_image_resize as fir;
    let src = fir::images::ImageRef::new(from.0, from.1, rgb, fir::PixelType::U8x3).unwrap();
    let mut dst = fir::images::Image::new(to.0, to.1, fir::PixelType::U8x3);
    fir::Resizer::new()
        .resize(
            &src,
            &mut dst,
            &fir::ResizeOptions::new()
                .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3)),
        )
        .unwrap();
    dst.into_vec()
}

/// One encoder under test.
type Encode<'a> = Box<dyn Fn() -> Vec<u8> + 'a>;

fn imagemagick() -> Option<String> {
    let out = Command::new("convert").arg("-version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next()?.to_owned();
    first.contains("ImageMagick").then_some(first)
}

fn one_photo(dir: &Path, runs: usize) {
    let (width, height) = (4000, 3000);
    let started = Instant::now();
    let rgb = photo(width, height, 1);
    let original = jpeg_encoder_q(&rgb, width, height, 90, false);
    let file = dir.join("photo-12mp.jpg");
    std::fs::write(&file, &original).unwrap();
    println!(
        "12 MP photo: {width} × {height}, JPEG quality 90, {:.1} MB (made in {:.1} s); median of {runs} runs each",
        original.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let limits = MediaLimits {
        max_bytes: 100 << 20,
        max_pixels: 100_000_000,
    };
    let presets = default_media_presets();
    let preview = presets.iter().find(|p| p.code == "preview").unwrap();

    let (ours, rendered) = time_ms(runs, || {
        imaging::render(&original, preview, &limits).unwrap()
    });
    println!(
        "  sluice render → preview        {ours:>7.1} ms  ({} × {}, {:.0} KB)",
        rendered.width,
        rendered.height,
        rendered.bytes.len() as f64 / 1e3
    );

    match imagemagick() {
        None => println!(
            "  ImageMagick: not installed (`apt-get install -y imagemagick`); comparison skipped"
        ),
        Some(version) => {
            let out = dir.join("im.jpg");
            let convert = |extra: &[&str]| {
                time_ms(runs, || {
                    let status = Command::new("convert")
                        .args(extra)
                        .arg(&file)
                        .args(["-thumbnail", "1200x1200", "-quality", "85"])
                        .arg(&out)
                        .status()
                        .unwrap();
                    assert!(status.success());
                })
                .0
            };
            let plain = convert(&[]);
            let hinted = convert(&["-define", "jpeg:size=2400x2400"]);
            let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
            println!("  {version}");
            println!(
                "  convert -thumbnail 1200x1200   {plain:>7.1} ms  → sluice is {:.1}× faster",
                plain / ours
            );
            println!(
                "  … with -define jpeg:size=2400x2400 (libjpeg's own scaled decode) {hinted:.1} ms ({:.0} KB) → sluice is {:.1}× faster",
                size as f64 / 1e3,
                hinted / ours
            );
        }
    }

    println!("  steps (4000 × 3000 → 1200 × 900):");
    let (full, _) = time_ms(runs, || image::load_from_memory(&original).unwrap());
    println!("    decode whole (image → zune-jpeg)          {full:>7.1} ms");
    let (jd_full, _) = time_ms(runs, || {
        jpeg_decoder::Decoder::new(&original[..]).decode().unwrap()
    });
    println!("    decode whole (jpeg-decoder)               {jd_full:>7.1} ms");
    let (half, half_rgb) = time_ms(runs, || {
        let mut decoder = jpeg_decoder::Decoder::new(&original[..]);
        decoder.scale(2000, 1500).unwrap();
        decoder.decode().unwrap()
    });
    println!("    decode at 1/2 (jpeg-decoder IDCT scaling) {half:>7.1} ms");
    let (resize_full, _) = time_ms(runs, || resize_fir(&rgb, (width, height), (1200, 900)));
    println!("    resize 4000×3000 → 1200×900 (fast_image_resize, Lanczos3) {resize_full:>6.1} ms");
    let (resize_half, small) = time_ms(runs, || resize_fir(&half_rgb, (2000, 1500), (1200, 900)));
    println!("    resize 2000×1500 → 1200×900 (fast_image_resize, Lanczos3) {resize_half:>6.1} ms");
    let image_resize_runs = runs.min(3);
    let (image_resize, _) = time_ms(image_resize_runs, || {
        image::imageops::resize(
            &image::RgbImage::from_raw(width, height, rgb.clone()).unwrap(),
            1200,
            900,
            image::imageops::FilterType::Lanczos3,
        )
    });
    println!(
        "    resize 4000×3000 → 1200×900 (image's own, Lanczos3, {image_resize_runs} runs) {image_resize:>6.1} ms"
    );

    println!("  encoders (1200 × 900, quality 85):");
    let encoders: [(&str, Encode<'_>); 3] = [
        (
            "image JpegEncoder                   ",
            Box::new(|| image_jpeg_q(&small, 1200, 900, 85)),
        ),
        (
            "jpeg-encoder, defaults              ",
            Box::new(|| jpeg_encoder_q(&small, 1200, 900, 85, false)),
        ),
        (
            "jpeg-encoder, chroma averaged (ours)",
            Box::new(|| jpeg_encoder_q(&small, 1200, 900, 85, true)),
        ),
    ];
    for (name, encode) in &encoders {
        let (ms, bytes) = time_ms(runs, encode);
        println!(
            "    {name} {ms:>6.1} ms  {:>4.0} KB  PSNR {:.2} dB",
            bytes.len() as f64 / 1e3,
            psnr(&small, &bytes)
        );
    }
    let web = resize_fir(&half_rgb, (2000, 1500), (1600, 1200));
    println!("  WebP (1600 × 1200, the `web` preset):");
    for method in [4, 2] {
        let (ms, bytes) = time_ms(runs, || {
            let mut config = webp::WebPConfig::new().unwrap();
            config.quality = 85.0;
            config.method = method;
            webp::Encoder::from_rgb(&web, 1600, 1200)
                .encode_advanced(&config)
                .unwrap()
                .to_vec()
        });
        println!(
            "    libwebp lossy q85, method {method}   {ms:>6.1} ms  {:>5.0} KB",
            bytes.len() as f64 / 1e3
        );
    }
    let lossless_runs = runs.min(3);
    let (ms, bytes) = time_ms(lossless_runs, || {
        let mut out = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_raw(1600, 1200, web.clone())
            .unwrap()
            .write_to(&mut out, image::ImageFormat::WebP)
            .unwrap();
        out.into_inner()
    });
    println!(
        "    image (lossless only, {lossless_runs} runs)  {ms:>6.1} ms  {:>5.0} KB",
        bytes.len() as f64 / 1e3
    );
    for preset in &presets {
        let (ms, rendered) = time_ms(runs, || {
            imaging::render(&original, preset, &limits).unwrap()
        });
        println!(
            "  render → {:<10} {:>4} × {:<4} {:<10} {ms:>7.1} ms  {:>5.0} KB",
            preset.code,
            rendered.width,
            rendered.height,
            rendered.media_type,
            rendered.bytes.len() as f64 / 1e3
        );
    }
}

fn config(data_dir: &Path) -> Config {
    let mut env = HashMap::new();
    env.insert("SLUICE_DATA_DIR".to_owned(), data_dir.display().to_string());
    Config::from_sources(None, &|name| env.get(name).cloned()).unwrap()
}

async fn ingest(dir: &Path, photos: usize, workers: usize) {
    let folder = dir.join("photos");
    std::fs::create_dir_all(&folder).unwrap();
    let (width, height) = (1600, 1200);
    let started = Instant::now();
    let mut total_bytes = 0;
    for i in 0..photos {
        let rgb = photo(width, height, 1000 + i as u32);
        let bytes = jpeg_encoder_q(&rgb, width, height, 90, false);
        total_bytes += bytes.len();
        std::fs::write(folder.join(format!("photo-{i:05}.jpg")), bytes).unwrap();
    }
    println!(
        "ingest: {photos} photos {width} × {height} JPEG q90, {:.0} MB (made in {:.1} s), SQLite, file:// store, {workers} rendition worker(s)",
        total_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let reset = reset_peak_rss();

    let state = sluice::app::prepare(config(&dir.join("data")))
        .await
        .unwrap();
    let actor = sluice::audit::Actor::system("bench");
    let started = Instant::now();
    let mut created = 0;
    for i in 0..photos {
        let name = format!("photo-{i:05}.jpg");
        let bytes = tokio::fs::read(folder.join(&name)).await.unwrap();
        let uploaded = sluice::media::upload::upload(
            &state.db,
            &state.media,
            &actor,
            &name,
            bytes.into(),
            &[],
            state.clock.now(),
        )
        .await
        .unwrap();
        created += usize::from(uploaded.created);
    }
    let upload_s = started.elapsed().as_secs_f64();
    assert_eq!(created, photos, "every photo is a new asset");
    let rendering = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (db, media, schema, clock) = (
            state.db.clone(),
            state.media.clone(),
            state.schema.clone(),
            state.clock.clone(),
        );
        tasks.push(tokio::spawn(async move {
            sluice::media::renditions::drain(&db, &media, &schema, &clock)
                .await
                .unwrap()
        }));
    }
    let mut done = 0;
    for task in tasks {
        done += task.await.unwrap();
    }
    let render_s = rendering.elapsed().as_secs_f64();
    let total_s = started.elapsed().as_secs_f64();
    assert_eq!(done, photos, "every asset got its renditions");
    let presets = default_media_presets().len();
    let renditions: i64 = sqlx::query("SELECT COUNT(*) AS n FROM asset_renditions")
        .fetch_one(state.db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(renditions as usize, photos * presets);
    println!(
        "  upload (hash, probe, store, record)  {upload_s:>6.1} s = {:>6.1} assets/s",
        photos as f64 / upload_s
    );
    println!(
        "  renditions ({presets} presets each)       {render_s:>6.1} s = {:>6.1} assets/s ({:.1} renditions/s)",
        photos as f64 / render_s,
        (photos * presets) as f64 / render_s
    );
    println!(
        "  total: {photos} assets, {renditions} renditions, in {total_s:.1} s = {:.1} assets/s",
        photos as f64 / total_s
    );
    println!(
        "  peak RSS {}: {:.0} MB",
        if reset {
            "of the ingest"
        } else {
            "of the process"
        },
        peak_rss_mb()
    );
    state.db.close().await;
}

#[tokio::main]
async fn main() {
    let runs = env_number("SLUICE_BENCH_RUNS", 9).max(1);
    let photos = env_number("SLUICE_BENCH_PHOTOS", 1000).max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = env_number("SLUICE_BENCH_WORKERS", cores).max(1);
    let dir = tempfile::tempdir().unwrap();
    one_photo(dir.path(), runs);
    println!();
    ingest(dir.path(), photos, workers).await;
}
