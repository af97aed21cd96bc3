//! Image work, pure (bytes in, bytes out): what a file is, judged from its
//! bytes and never from its name; its size from the header, so a pixel
//! bomb is refused before anything is allocated for it; and renditions.
//!
//! A rendition is made in four steps, each with the fastest well-kept crate
//! measured here (`cargo bench --bench media`; docs/decisions.md):
//! 1. decode: a JPEG much larger than the rendition is decoded scaled by
//!    1/2, 1/4 or 1/8 in the IDCT (`jpeg-decoder`), never below the
//!    rendition's size; anything else through `image` (`zune-jpeg` for
//!    JPEG), within explicit [`image::Limits`];
//! 2. resize (and centre-crop for `cover`) with `fast_image_resize`
//!    (Lanczos3, SIMD), in the stored orientation;
//! 3. turn the small result upright (EXIF orientation);
//! 4. encode: JPEG with `jpeg-encoder`, WebP lossy with libwebp (`webp`),
//!    PNG with `image`.

use std::io::Cursor;

use fast_image_resize as fir;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::{MediaError, MediaLimits};
use crate::catalog::schema::{Fit, MediaPreset, RenditionFormat};

/// What an accepted file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub media_type: &'static str,
    /// As shown, after the EXIF orientation; `None` for documents.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// EXIF orientation, 1 (as stored) to 8.
    pub orientation: u8,
}

/// The media types accepted, from the file's first bytes.
pub fn sniff(bytes: &[u8]) -> Result<&'static str, MediaError> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Ok("image/jpeg");
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Ok("image/png");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Ok("image/gif");
    }
    if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Ok("image/webp");
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Ok("image/tiff");
    }
    if starts(b"%PDF-") {
        return Ok("application/pdf");
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_lowercase();
    if head.contains("<svg") || head.contains("<!doctype svg") {
        // SVG can carry scripts and is never served inline; refused.
        return Err(MediaError::Unsupported { what: "SVG".into() });
    }
    if head
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('<')
    {
        return Err(MediaError::Unsupported {
            what: "HTML or XML".into(),
        });
    }
    Err(MediaError::Unsupported {
        what: "Files of this kind".into(),
    })
}

fn format_of(media_type: &str) -> Option<ImageFormat> {
    match media_type {
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        "image/tiff" => Some(ImageFormat::Tiff),
        _ => None,
    }
}

fn corrupt(media_type: &str, err: impl std::fmt::Display) -> MediaError {
    MediaError::Corrupt {
        media_type: media_type.to_owned(),
        reason: err.to_string(),
    }
}

fn encode_failed(err: impl std::fmt::Display) -> MediaError {
    MediaError::Invalid(format!("cannot encode the rendition: {err}"))
}

/// The decoder's limits: no side longer than `max_pixels` (the header's
/// size is checked against `max_pixels` itself right after), and no
/// allocation above what an image of `max_pixels` needs (4 channels of 16
/// bits), whatever a decoder would like to buffer.
fn decoder_limits(limits: &MediaLimits) -> image::Limits {
    let mut decoder = image::Limits::default();
    let side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    decoder.max_image_width = Some(side);
    decoder.max_image_height = Some(side);
    decoder.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    decoder
}

/// Reads what a file is from its bytes: type, size, orientation. Only the
/// header is read (and, for a JPEG, its markers: a file cut short is
/// refused); a file whose header claims more than `max_pixels` is refused
/// here, before any decoding.
pub fn probe(bytes: &[u8], limits: &MediaLimits) -> Result<Probe, MediaError> {
    let media_type = sniff(bytes)?;
    let Some(format) = format_of(media_type) else {
        return Ok(Probe {
            media_type,
            width: None,
            height: None,
            orientation: 1,
        });
    };
    let header = Header::read(bytes, media_type, format, limits)?;
    let (width, height) = header.upright();
    check_complete(media_type, bytes)?;
    Ok(Probe {
        media_type,
        width: Some(width),
        height: Some(height),
        orientation: orientation_number(header.orientation),
    })
}

/// A still image's header, checked: within the limits, and for a JPEG
/// complete.
struct Header {
    media_type: &'static str,
    format: ImageFormat,
    /// As stored, before the orientation.
    width: u32,
    height: u32,
    orientation: Orientation,
}

impl Header {
    fn read(
        bytes: &[u8],
        media_type: &'static str,
        format: ImageFormat,
        limits: &MediaLimits,
    ) -> Result<Self, MediaError> {
        if format == ImageFormat::Jpeg {
            jpeg_complete(bytes)?;
        }
        let mut decoder = open(bytes, media_type, format, limits)?;
        let (width, height) = decoder.dimensions();
        check_pixels(width, height, limits)?;
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        Ok(Self {
            media_type,
            format,
            width,
            height,
            orientation,
        })
    }

    /// Width and height as shown.
    fn upright(&self) -> (u32, u32) {
        if turns(self.orientation) {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

/// The decoder for a file, its header read within the limits.
fn open<'a>(
    bytes: &'a [u8],
    media_type: &str,
    format: ImageFormat,
    limits: &MediaLimits,
) -> Result<impl ImageDecoder + 'a, MediaError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits(limits));
    reader
        .into_decoder()
        .map_err(|err| header_error(media_type, err, limits))
}

fn header_error(media_type: &str, err: image::ImageError, limits: &MediaLimits) -> MediaError {
    match err {
        // A side longer than `max_pixels`: the size is not known here.
        image::ImageError::Limits(_) => MediaError::Invalid(format!(
            "the image is larger than {} pixels; it is not accepted",
            limits.max_pixels
        )),
        other => corrupt(media_type, other),
    }
}

/// A PNG cut short (an interrupted copy) passes a header read and decoders
/// fill the missing part grey: refused here by its missing `IEND` chunk,
/// which costs a scan of the file's tail, not a decode. (A JPEG's end is
/// checked when its segments are walked, in `jpeg_complete`.)
fn check_complete(media_type: &str, bytes: &[u8]) -> Result<(), MediaError> {
    // A JPEG's segments are walked when its header is read (`jpeg_complete`).
    let complete = match media_type {
        "image/png" => bytes.windows(4).rev().take(1 << 16).any(|w| w == b"IEND"),
        _ => true,
    };
    if complete {
        Ok(())
    } else {
        Err(corrupt(
            media_type,
            "the file ends early (truncated: an interrupted copy or download?)",
        ))
    }
}

fn check_pixels(width: u32, height: u32, limits: &MediaLimits) -> Result<(), MediaError> {
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(MediaError::TooManyPixels {
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

/// A JPEG must hold a scan and end it with an end-of-image marker: a file
/// cut short would otherwise decode to grey where its data stops. The
/// segments before the first scan are walked by their lengths (an EXIF
/// thumbnail carries markers of its own); in the scan data a 0xFF byte is
/// always followed by 0x00 or a restart marker, so 0xFF 0xD9 after it is
/// the end of the image. Data after that marker (camera trailers) is fine.
fn jpeg_complete(bytes: &[u8]) -> Result<(), MediaError> {
    let truncated = || corrupt("image/jpeg", "the file ends too early (truncated)");
    let mut at = 2;
    loop {
        let (Some(&lead), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return Err(truncated());
        };
        if lead != 0xFF {
            return Err(corrupt("image/jpeg", "a segment marker is missing"));
        }
        match marker {
            // Fill byte before a marker.
            0xFF => at += 1,
            // Markers without a length.
            0x01 | 0xD0..=0xD8 => at += 2,
            0xD9 => return Err(corrupt("image/jpeg", "the file holds no image data")),
            _ => {
                let (Some(&high), Some(&low)) = (bytes.get(at + 2), bytes.get(at + 3)) else {
                    return Err(truncated());
                };
                let length = usize::from(u16::from_be_bytes([high, low]));
                if length < 2 {
                    return Err(corrupt("image/jpeg", "a segment has a wrong length"));
                }
                let end = at + 2 + length;
                if end > bytes.len() {
                    return Err(truncated());
                }
                if marker == 0xDA {
                    // Start of scan: the end-of-image marker is usually the
                    // last two bytes, so look from the end.
                    let ends = bytes[end..].windows(2).rev().any(|w| w == [0xFF, 0xD9]);
                    return if ends { Ok(()) } else { Err(truncated()) };
                }
                at = end;
            }
        }
    }
}

/// Whether an orientation swaps width and height.
fn turns(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

fn orientation_number(orientation: Orientation) -> u8 {
    use image::metadata::Orientation as O;
    match orientation {
        O::NoTransforms => 1,
        O::FlipHorizontal => 2,
        O::Rotate180 => 3,
        O::FlipVertical => 4,
        O::Rotate90FlipH => 5,
        O::Rotate90 => 6,
        O::Rotate270FlipH => 7,
        O::Rotate270 => 8,
    }
}

/// A made rendition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub media_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Decodes the whole image (within the limits), upright.
pub fn decode(bytes: &[u8], limits: &MediaLimits) -> Result<DynamicImage, MediaError> {
    let media_type = sniff(bytes)?;
    let format = format_of(media_type).ok_or_else(|| MediaError::Unsupported {
        what: media_type.to_owned(),
    })?;
    let header = Header::read(bytes, media_type, format, limits)?;
    let mut image = decode_full(bytes, &header, limits)?;
    image.apply_orientation(header.orientation);
    Ok(image)
}

/// The whole image as stored, through `image`.
fn decode_full(
    bytes: &[u8],
    header: &Header,
    limits: &MediaLimits,
) -> Result<DynamicImage, MediaError> {
    let decoder = open(bytes, header.media_type, header.format, limits)?;
    DynamicImage::from_decoder(decoder).map_err(|err| match err {
        image::ImageError::Limits(_) => MediaError::TooManyPixels {
            width: header.width,
            height: header.height,
            limit: limits.max_pixels,
        },
        other => corrupt(header.media_type, other),
    })
}

/// Makes the rendition of an image for a preset: its size is
/// `preset.target_size` of the upright image's size.
pub fn render(
    bytes: &[u8],
    preset: &MediaPreset,
    limits: &MediaLimits,
) -> Result<Rendered, MediaError> {
    let media_type = sniff(bytes)?;
    let format = format_of(media_type).ok_or_else(|| MediaError::Unsupported {
        what: media_type.to_owned(),
    })?;
    let header = Header::read(bytes, media_type, format, limits)?;
    let (upright_width, upright_height) = header.upright();
    let (width, height) = preset.target_size(upright_width, upright_height);
    // The size to resize to before the image is turned upright.
    let (stored_width, stored_height) = if turns(header.orientation) {
        (height, width)
    } else {
        (width, height)
    };
    let source = load(bytes, &header, stored_width, stored_height, limits)?;
    let resized = resize(&source, preset.fit, stored_width, stored_height)?;
    let upright = resized.oriented(header.orientation)?;
    encode(&upright, preset)
}

/// Makes the renditions of one image for several presets from one decode
/// (at the scale the largest of them needs): what the rendition worker does
/// for a new asset, where decoding is most of the work.
pub fn render_all(
    bytes: &[u8],
    presets: &[MediaPreset],
    limits: &MediaLimits,
) -> Result<Vec<Rendered>, MediaError> {
    let media_type = sniff(bytes)?;
    let format = format_of(media_type).ok_or_else(|| MediaError::Unsupported {
        what: media_type.to_owned(),
    })?;
    let header = Header::read(bytes, media_type, format, limits)?;
    let (upright_width, upright_height) = header.upright();
    // Each preset's size before the image is turned upright.
    let stored: Vec<(u32, u32)> = presets
        .iter()
        .map(|preset| {
            let (width, height) = preset.target_size(upright_width, upright_height);
            if turns(header.orientation) {
                (height, width)
            } else {
                (width, height)
            }
        })
        .collect();
    let largest = stored
        .iter()
        .fold((1, 1), |(w, h), &(sw, sh)| (w.max(sw), h.max(sh)));
    let source = load(bytes, &header, largest.0, largest.1, limits)?;
    presets
        .iter()
        .zip(stored)
        .map(|(preset, (width, height))| {
            let resized = resize(&source, preset.fit, width, height)?;
            encode(&resized.oriented(header.orientation)?, preset)
        })
        .collect()
}

/// Decoded pixels, 8 bits per channel, RGB or RGBA, rows packed.
#[derive(Debug)]
struct Pixels {
    width: u32,
    height: u32,
    alpha: bool,
    data: Vec<u8>,
}

impl Pixels {
    fn from_image(image: DynamicImage) -> Self {
        let (width, height) = (image.width(), image.height());
        if image.color().has_alpha() {
            Self {
                width,
                height,
                alpha: true,
                data: image.into_rgba8().into_raw(),
            }
        } else {
            Self {
                width,
                height,
                alpha: false,
                data: image.into_rgb8().into_raw(),
            }
        }
    }

    fn pixel_type(&self) -> fir::PixelType {
        if self.alpha {
            fir::PixelType::U8x4
        } else {
            fir::PixelType::U8x3
        }
    }

    fn into_image(self) -> Result<DynamicImage, MediaError> {
        let wrong = || MediaError::Invalid("the resized image has a wrong size".into());
        Ok(if self.alpha {
            DynamicImage::ImageRgba8(
                image::RgbaImage::from_raw(self.width, self.height, self.data).ok_or_else(wrong)?,
            )
        } else {
            DynamicImage::ImageRgb8(
                image::RgbImage::from_raw(self.width, self.height, self.data).ok_or_else(wrong)?,
            )
        })
    }

    /// Turned upright (on the small, resized image: cheap).
    fn oriented(self, orientation: Orientation) -> Result<Self, MediaError> {
        if orientation == Orientation::NoTransforms {
            return Ok(self);
        }
        let mut image = self.into_image()?;
        image.apply_orientation(orientation);
        Ok(Self::from_image(image))
    }

    /// RGB over a white background (JPEG has no transparency).
    fn flattened(&self) -> std::borrow::Cow<'_, [u8]> {
        if !self.alpha {
            return std::borrow::Cow::Borrowed(&self.data);
        }
        let mut rgb = Vec::with_capacity(self.data.len() / 4 * 3);
        for px in self.data.chunks_exact(4) {
            let alpha = u32::from(px[3]);
            for &channel in &px[..3] {
                let over_white = (u32::from(channel) * alpha + 255 * (255 - alpha) + 127) / 255;
                rgb.push(u8::try_from(over_white).unwrap_or(u8::MAX));
            }
        }
        std::borrow::Cow::Owned(rgb)
    }
}

/// The image as stored, decoded at a size no smaller than `width` ×
/// `height` (the rendition's size before it is turned upright): a JPEG at
/// least twice as large on both sides is decoded scaled.
fn load(
    bytes: &[u8],
    header: &Header,
    width: u32,
    height: u32,
    limits: &MediaLimits,
) -> Result<Pixels, MediaError> {
    if header.format == ImageFormat::Jpeg {
        let denominator = jpeg_denominator(header.width, header.height, width, height);
        if denominator > 1
            && let Some(pixels) = decode_jpeg_scaled(bytes, header, denominator, limits)
        {
            return Ok(pixels);
        }
    }
    decode_full(bytes, header, limits).map(Pixels::from_image)
}

/// The largest IDCT scale-down (8, 4, 2 or 1) that leaves a `width` ×
/// `height` image at least `target_width` × `target_height`.
fn jpeg_denominator(width: u32, height: u32, target_width: u32, target_height: u32) -> u32 {
    [8, 4, 2]
        .into_iter()
        .find(|d| {
            width.div_ceil(*d) >= target_width.max(1) && height.div_ceil(*d) >= target_height.max(1)
        })
        .unwrap_or(1)
}

/// A JPEG decoded at 1/`denominator` of its size by `jpeg-decoder`; `None`
/// when it cannot (CMYK, 16-bit, or data it refuses), so the caller decodes
/// it whole instead.
fn decode_jpeg_scaled(
    bytes: &[u8],
    header: &Header,
    denominator: u32,
    limits: &MediaLimits,
) -> Option<Pixels> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.set_max_decoding_buffer_size(
        usize::try_from(limits.max_pixels.saturating_mul(4)).unwrap_or(usize::MAX),
    );
    // `scale` picks the smallest IDCT size reaching the asked size on
    // either side: asking for exactly 1/denominator gets that.
    let want_width = u16::try_from(header.width.div_ceil(denominator)).ok()?;
    let want_height = u16::try_from(header.height.div_ceil(denominator)).ok()?;
    let (width, height) = decoder.scale(want_width, want_height).ok()?;
    let (width, height) = (u32::from(width), u32::from(height));
    let format = decoder.info()?.pixel_format;
    if !matches!(
        format,
        jpeg_decoder::PixelFormat::RGB24 | jpeg_decoder::PixelFormat::L8
    ) {
        return None;
    }
    let mut data = decoder.decode().ok()?;
    let pixels = usize::try_from(u64::from(width) * u64::from(height)).ok()?;
    if format == jpeg_decoder::PixelFormat::L8 {
        if data.len() != pixels {
            return None;
        }
        data = data.iter().flat_map(|&l| [l, l, l]).collect();
    }
    (data.len() == pixels * 3).then_some(Pixels {
        width,
        height,
        alpha: false,
        data,
    })
}

/// Resized to exactly `width` × `height`: `contain` scales the whole
/// image, `cover` the largest centred crop of the box's shape.
fn resize(source: &Pixels, fit: Fit, width: u32, height: u32) -> Result<Pixels, MediaError> {
    let failed = |err: &dyn std::fmt::Display| MediaError::Invalid(format!("cannot resize: {err}"));
    let (width, height) = (width.max(1), height.max(1));
    let (sw, sh) = (f64::from(source.width), f64::from(source.height));
    let (crop_width, crop_height) = match fit {
        Fit::Contain => (sw, sh),
        Fit::Cover => {
            let (tw, th) = (f64::from(width), f64::from(height));
            if sw * th > sh * tw {
                (sh * tw / th, sh)
            } else {
                (sw, sw * th / tw)
            }
        }
    };
    if source.width == width && source.height == height {
        return Ok(Pixels {
            width,
            height,
            alpha: source.alpha,
            data: source.data.clone(),
        });
    }
    let pixel_type = source.pixel_type();
    let view = fir::images::ImageRef::new(source.width, source.height, &source.data, pixel_type)
        .map_err(|err| failed(&err))?;
    let mut target = fir::images::Image::new(width, height, pixel_type);
    let options = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3))
        .crop(
            (sw - crop_width) / 2.0,
            (sh - crop_height) / 2.0,
            crop_width,
            crop_height,
        );
    fir::Resizer::new()
        .resize(&view, &mut target, &options)
        .map_err(|err| failed(&err))?;
    Ok(Pixels {
        width,
        height,
        alpha: source.alpha,
        data: target.into_vec(),
    })
}

fn encode(image: &Pixels, preset: &MediaPreset) -> Result<Rendered, MediaError> {
    let quality = preset.quality.clamp(1, 100);
    let bytes = match preset.format {
        RenditionFormat::Jpeg => encode_jpeg(image, quality)?,
        RenditionFormat::Webp => encode_webp(image, quality)?,
        RenditionFormat::Png => {
            use image::ImageEncoder;
            let colour = if image.alpha {
                image::ExtendedColorType::Rgba8
            } else {
                image::ExtendedColorType::Rgb8
            };
            let mut out = Vec::new();
            image::codecs::png::PngEncoder::new(&mut out)
                .write_image(&image.data, image.width, image.height, colour)
                .map_err(encode_failed)?;
            out
        }
    };
    Ok(Rendered {
        bytes,
        media_type: preset.format.media_type(),
        width: image.width,
        height: image.height,
    })
}

/// Baseline JPEG, 4:2:0 below quality 90 (chroma averaged, as libjpeg
/// does), standard Huffman tables: `jpeg-encoder`'s optimised tables for a
/// flat image (one symbol) are read wrong by `zune-jpeg` (white came back
/// green), so they stay off.
fn encode_jpeg(image: &Pixels, quality: u8) -> Result<Vec<u8>, MediaError> {
    let too_large = || encode_failed("a JPEG side is at most 65,535 pixels");
    let width = u16::try_from(image.width).map_err(|_| too_large())?;
    let height = u16::try_from(image.height).map_err(|_| too_large())?;
    let rgb = image.flattened();
    let mut out = Vec::with_capacity(rgb.len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    encoder
        .encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(encode_failed)?;
    Ok(out)
}

/// Lossy WebP through libwebp, alpha kept. Method 2 instead of libwebp's
/// default 4: 2.5× faster for a 1600 × 1200 photo, 4 % larger
/// (benches/media.rs).
fn encode_webp(image: &Pixels, quality: u8) -> Result<Vec<u8>, MediaError> {
    // libwebp's limit; checked here so its error reads plainly.
    if image.width > 16_383 || image.height > 16_383 {
        return Err(encode_failed("a WebP side is at most 16,383 pixels"));
    }
    let layout = if image.alpha {
        webp::PixelLayout::Rgba
    } else {
        webp::PixelLayout::Rgb
    };
    let mut config =
        webp::WebPConfig::new().map_err(|()| encode_failed("libwebp refused its configuration"))?;
    config.quality = f32::from(quality);
    config.method = 2;
    let encoded = webp::Encoder::new(&image.data, layout, image.width, image.height)
        .encode_advanced(&config)
        .map_err(|err| encode_failed(format!("{err:?}")))?;
    Ok(encoded.to_vec())
}

/// The picture shown for a document (a PDF) at a preset's size: a page
/// with a folded corner, so the library and the product page show
/// something. Square, no larger than the preset's box (nor 512 pixels).
pub fn document_icon(preset: &MediaPreset) -> Result<Rendered, MediaError> {
    let side = preset.width.min(preset.height).clamp(1, 512);
    let paper = [245, 245, 245];
    let mut data = Vec::with_capacity(side as usize * side as usize * 3);
    let margin = side / 6;
    let fold = side / 5;
    let left = margin + side / 12;
    let right = side.saturating_sub(margin + side / 12);
    for y in 0..side {
        for x in 0..side {
            let on_page = y >= margin && y < side - margin && x >= left && x < right;
            let colour = if !on_page {
                paper
            } else if x + fold > right && y < margin + fold && (right - x) < fold - (y - margin) {
                [200, 200, 200]
            } else if y > side / 2 && y < side / 2 + side / 10 {
                [200, 40, 40]
            } else {
                [255, 255, 255]
            };
            data.extend_from_slice(&colour);
        }
    }
    let icon = Pixels {
        width: side,
        height: side,
        alpha: false,
        data,
    };
    encode(&icon, preset)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use image::{GenericImageView, Rgb, RgbImage, Rgba, RgbaImage};

    use super::*;
    use crate::catalog::schema::default_media_presets;

    const LIMITS: MediaLimits = MediaLimits {
        max_bytes: 100 << 20,
        max_pixels: 100_000_000,
    };

    fn preset(width: u32, height: u32, fit: Fit, format: RenditionFormat) -> MediaPreset {
        MediaPreset {
            code: "test".into(),
            width,
            height,
            fit,
            format,
            quality: 90,
        }
    }

    /// A photo-like picture: gradients, a ripple and a little noise.
    fn photo(width: u32, height: u32) -> RgbImage {
        let mut noise = 0x2545_f491_u32;
        RgbImage::from_fn(width, height, |x, y| {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let grain = (noise % 24) as f32 - 12.0;
            let ripple = ((x as f32 / 23.0).sin() + (y as f32 / 31.0).cos()) * 30.0;
            let channel = |base: f32| (base + ripple + grain).clamp(0.0, 255.0) as u8;
            Rgb([
                channel(255.0 * x as f32 / width as f32),
                channel(255.0 * y as f32 / height as f32),
                channel(128.0),
            ])
        })
    }

    fn jpeg(image: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
            .encode_image(image)
            .unwrap();
        out
    }

    fn encoded(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    /// The JPEG with an APP1 Exif segment carrying `orientation`, spliced
    /// in after the JFIF segment.
    fn with_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
        let mut payload = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
        payload.extend_from_slice(&[0, 1]); // one entry
        payload.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0]);
        payload.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
        let length = u16::try_from(payload.len() + 2).unwrap();
        let mut segment = vec![0xFF, 0xE1];
        segment.extend_from_slice(&length.to_be_bytes());
        segment.extend_from_slice(&payload);
        // After SOI, and after APP0 (JFIF) when there is one.
        let mut at = 2;
        if jpeg[2..4] == [0xFF, 0xE0] {
            at = 4 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
        }
        let mut out = jpeg[..at].to_vec();
        out.extend_from_slice(&segment);
        out.extend_from_slice(&jpeg[at..]);
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFF_u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
        out
    }

    /// A PNG of a few hundred bytes whose header claims `width` × `height`
    /// 8-bit grey pixels.
    fn png_bomb(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        // A zlib stream of a few empty stored blocks: valid, and nowhere
        // near the claimed size.
        let idat = [
            0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01,
        ];
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        out.extend(chunk(b"IHDR", &ihdr));
        out.extend(chunk(b"IDAT", &idat));
        out.extend(chunk(b"IEND", &[]));
        out
    }

    fn near(actual: Rgb<u8>, expected: [u8; 3]) -> bool {
        actual
            .0
            .iter()
            .zip(expected)
            .all(|(a, e)| a.abs_diff(e) < 60)
    }

    #[test]
    fn the_type_comes_from_the_bytes_not_the_name() {
        let png = encoded(DynamicImage::ImageRgb8(photo(8, 8)), ImageFormat::Png);
        // Whatever it is called ("photo.jpg"), a PNG is a PNG.
        assert_eq!(sniff(&png).unwrap(), "image/png");
        assert_eq!(probe(&png, &LIMITS).unwrap().media_type, "image/png");
        let small = DynamicImage::ImageRgba8(RgbaImage::from_pixel(6, 4, Rgba([1, 2, 3, 255])));
        for (format, media_type) in [
            (ImageFormat::Gif, "image/gif"),
            (ImageFormat::Tiff, "image/tiff"),
            (ImageFormat::WebP, "image/webp"),
            (ImageFormat::Jpeg, "image/jpeg"),
        ] {
            let image = if format == ImageFormat::Jpeg {
                DynamicImage::ImageRgb8(small.to_rgb8())
            } else {
                small.clone()
            };
            let probe = probe(&encoded(image, format), &LIMITS).unwrap();
            assert_eq!(
                (probe.media_type, probe.width, probe.height),
                (media_type, Some(6), Some(4))
            );
        }
        let pdf = probe(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", &LIMITS).unwrap();
        assert_eq!((pdf.media_type, pdf.width), ("application/pdf", None));
    }

    #[test]
    fn svg_html_and_unknown_files_are_refused() {
        for bytes in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"[..],
            b"<?xml version=\"1.0\"?>\n<!-- drawn -->\n<svg></svg>",
            b"  <!DOCTYPE html><html><body>hi</body></html>",
            b"\xef\xbb\xbf<html></html>",
            b"MZ\x90\0 an executable",
        ] {
            assert!(
                matches!(sniff(bytes), Err(MediaError::Unsupported { .. })),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert!(matches!(
            sniff(b"<svg/>"),
            Err(MediaError::Unsupported { what }) if what == "SVG"
        ));
        assert!(matches!(sniff(b""), Err(MediaError::Empty)));
    }

    #[test]
    fn a_pixel_bomb_is_refused_from_its_header() {
        let bomb = png_bomb(50_000, 50_000);
        assert!(bomb.len() < 200, "{} bytes", bomb.len());
        let started = Instant::now();
        let refused = probe(&bomb, &LIMITS);
        let rendered = render(&bomb, &default_media_presets()[0], &LIMITS);
        let decoded = decode(&bomb, &LIMITS);
        // Allocating 2.5 GB and inflating into it would take seconds.
        assert!(started.elapsed() < Duration::from_millis(100));
        for err in [refused.err(), rendered.err(), decoded.err()] {
            assert!(
                matches!(
                    err,
                    Some(MediaError::TooManyPixels {
                        width: 50_000,
                        height: 50_000,
                        limit: 100_000_000
                    })
                ),
                "{err:?}"
            );
        }
        // Within the limit, the same header is accepted as far as probing.
        assert_eq!(
            probe(&png_bomb(300, 200), &LIMITS).unwrap().width,
            Some(300)
        );
        // The limit is the configured one.
        let tight = MediaLimits {
            max_bytes: 1 << 20,
            max_pixels: 10_000,
        };
        assert!(matches!(
            probe(&png_bomb(101, 100), &tight),
            Err(MediaError::TooManyPixels { .. })
        ));
        let jpeg = jpeg(&photo(120, 90));
        assert!(matches!(
            render(&jpeg, &default_media_presets()[0], &tight),
            Err(MediaError::TooManyPixels {
                width: 120,
                height: 90,
                ..
            })
        ));
        // A side longer than the whole pixel budget.
        assert!(matches!(
            probe(&png_bomb(20_000, 1), &tight),
            Err(MediaError::TooManyPixels { .. } | MediaError::Invalid(_))
        ));
    }

    #[test]
    fn a_truncated_jpeg_is_refused() {
        let whole = jpeg(&photo(64, 48));
        assert!(probe(&whole, &LIMITS).is_ok());
        for cut in [whole.len() * 3 / 4, whole.len() / 2, whole.len() - 2, 40, 3] {
            let err = probe(&whole[..cut], &LIMITS).unwrap_err();
            assert!(
                matches!(&err, MediaError::Corrupt { media_type, reason }
                    if media_type == "image/jpeg" && reason.contains("truncated")),
                "cut at {cut}: {err:?}"
            );
            assert!(render(&whole[..cut], &default_media_presets()[1], &LIMITS).is_err());
            assert!(decode(&whole[..cut], &LIMITS).is_err());
        }
        // Bytes after the end-of-image marker (camera trailers) are fine.
        let mut trailer = whole.clone();
        trailer.extend_from_slice(b"\0\0\0trailer");
        assert!(probe(&trailer, &LIMITS).is_ok());
        // An EXIF thumbnail's own end-of-image marker does not count.
        let mut with_thumbnail = whole[..2].to_vec();
        let thumbnail = [0xFF, 0xD8, 0xFF, 0xD9];
        with_thumbnail.extend_from_slice(&[0xFF, 0xE1, 0, 2 + 4]);
        with_thumbnail.extend_from_slice(&thumbnail);
        with_thumbnail.extend_from_slice(&whole[2..whole.len() / 2]);
        assert!(probe(&with_thumbnail, &LIMITS).is_err());
    }

    #[test]
    fn exif_orientation_6_is_applied() {
        // Stored 40 × 20: left half red, right half blue, the top-left
        // quarter green. Orientation 6 turns it 90° clockwise to 20 × 40:
        // red on top, blue below, green at the top right.
        let stored = RgbImage::from_fn(40, 20, |x, y| match (x < 20, y < 10) {
            (true, true) => Rgb([0, 255, 0]),
            (true, false) => Rgb([255, 0, 0]),
            (false, _) => Rgb([0, 0, 255]),
        });
        let bytes = with_orientation(&jpeg(&stored), 6);
        let probe = probe(&bytes, &LIMITS).unwrap();
        assert_eq!(
            (probe.width, probe.height, probe.orientation),
            (Some(20), Some(40), 6)
        );
        let upright = decode(&bytes, &LIMITS).unwrap();
        assert_eq!(upright.dimensions(), (20, 40));

        let rendered = render(
            &bytes,
            &preset(100, 100, Fit::Contain, RenditionFormat::Png),
            &LIMITS,
        )
        .unwrap();
        assert_eq!((rendered.width, rendered.height), (20, 40));
        let out = image::load_from_memory(&rendered.bytes).unwrap().to_rgb8();
        assert_eq!(out.dimensions(), (20, 40));
        assert!(
            near(*out.get_pixel(2, 2), [255, 0, 0]),
            "{:?}",
            out.get_pixel(2, 2)
        );
        assert!(
            near(*out.get_pixel(17, 2), [0, 255, 0]),
            "{:?}",
            out.get_pixel(17, 2)
        );
        assert!(
            near(*out.get_pixel(2, 37), [0, 0, 255]),
            "{:?}",
            out.get_pixel(2, 37)
        );

        // The same through the scaled JPEG decode (1/4), 400 × 200 stored.
        let big = image::imageops::resize(&stored, 400, 200, image::imageops::FilterType::Nearest);
        let bytes = with_orientation(&jpeg(&big), 6);
        let rendered = render(
            &bytes,
            &preset(100, 100, Fit::Contain, RenditionFormat::Png),
            &LIMITS,
        )
        .unwrap();
        let out = image::load_from_memory(&rendered.bytes).unwrap().to_rgb8();
        assert_eq!(out.dimensions(), (50, 100));
        assert!(
            near(*out.get_pixel(3, 3), [255, 0, 0]),
            "{:?}",
            out.get_pixel(3, 3)
        );
        assert!(
            near(*out.get_pixel(46, 3), [0, 255, 0]),
            "{:?}",
            out.get_pixel(46, 3)
        );
        assert!(
            near(*out.get_pixel(3, 96), [0, 0, 255]),
            "{:?}",
            out.get_pixel(3, 96)
        );
    }

    #[test]
    fn every_default_preset_makes_its_size_and_format() {
        let sources = [
            // Larger than every box, landscape: scaled JPEG decoding.
            ("jpeg 2400×1800", jpeg(&photo(2400, 1800))),
            // Portrait, smaller than some boxes.
            (
                "png 900×1600",
                encoded(DynamicImage::ImageRgb8(photo(900, 1600)), ImageFormat::Png),
            ),
            // Small with transparency, smaller than every box.
            (
                "png 300×200 rgba",
                encoded(
                    DynamicImage::ImageRgba8(RgbaImage::from_pixel(300, 200, Rgba([0, 0, 0, 0]))),
                    ImageFormat::Png,
                ),
            ),
            (
                "gif 500×333",
                encoded(DynamicImage::ImageRgb8(photo(500, 333)), ImageFormat::Gif),
            ),
        ];
        for (name, bytes) in &sources {
            let probe = probe(bytes, &LIMITS).unwrap();
            let (width, height) = (probe.width.unwrap(), probe.height.unwrap());
            // One decode for every preset makes what one render each does.
            let presets = default_media_presets();
            let all = render_all(bytes, &presets, &LIMITS).unwrap();
            assert_eq!(all.len(), presets.len());
            for (preset, together) in presets.into_iter().zip(all) {
                let rendered = render(bytes, &preset, &LIMITS).unwrap();
                assert_eq!(
                    (together.width, together.height, together.media_type),
                    (rendered.width, rendered.height, rendered.media_type),
                    "{name} → {} from one decode",
                    preset.code
                );
                let expected = preset.target_size(width, height);
                assert_eq!(
                    (rendered.width, rendered.height),
                    expected,
                    "{name} → {}",
                    preset.code
                );
                assert_eq!(rendered.media_type, preset.format.media_type());
                let format = image::guess_format(&rendered.bytes).unwrap();
                assert_eq!(format_of(rendered.media_type), Some(format));
                let out = image::load_from_memory(&rendered.bytes).unwrap();
                assert_eq!(out.dimensions(), expected, "{name} → {}", preset.code);
            }
        }
        // Transparent pixels become white in a JPEG.
        let (_, transparent) = &sources[2];
        let rendered = render(transparent, &default_media_presets()[1], &LIMITS).unwrap();
        let out = image::load_from_memory(&rendered.bytes).unwrap().to_rgb8();
        assert!(
            near(*out.get_pixel(5, 5), [255, 255, 255]),
            "{:?}",
            out.get_pixel(5, 5)
        );
    }

    #[test]
    fn cover_crops_the_centre() {
        // Three bands, red | green | blue, 900 × 300: a square cover is green.
        let bands = RgbImage::from_fn(900, 300, |x, _| match x / 300 {
            0 => Rgb([255, 0, 0]),
            1 => Rgb([0, 255, 0]),
            _ => Rgb([0, 0, 255]),
        });
        let bytes = encoded(DynamicImage::ImageRgb8(bands), ImageFormat::Png);
        let rendered = render(
            &bytes,
            &preset(100, 100, Fit::Cover, RenditionFormat::Png),
            &LIMITS,
        )
        .unwrap();
        let out = image::load_from_memory(&rendered.bytes).unwrap().to_rgb8();
        assert_eq!(out.dimensions(), (100, 100));
        for (x, y) in [(1, 1), (98, 1), (1, 98), (98, 98), (50, 50)] {
            assert!(near(*out.get_pixel(x, y), [0, 255, 0]), "{x},{y}");
        }
    }

    #[test]
    fn jpeg_is_decoded_scaled_but_never_below_the_target() {
        assert_eq!(jpeg_denominator(4000, 3000, 1200, 900), 2);
        assert_eq!(jpeg_denominator(4000, 3000, 2000, 1500), 2);
        assert_eq!(jpeg_denominator(4000, 3000, 2001, 1500), 1);
        assert_eq!(jpeg_denominator(4000, 3000, 320, 320), 8);
        assert_eq!(jpeg_denominator(1600, 1200, 320, 320), 2);
        assert_eq!(jpeg_denominator(1600, 1200, 1200, 900), 1);
        assert_eq!(jpeg_denominator(1601, 1201, 401, 301), 4);
        assert_eq!(jpeg_denominator(10, 10, 0, 0), 8);
    }

    #[test]
    fn the_document_icon_fits_the_box() {
        let mut presets = default_media_presets();
        presets.push(preset(10, 8, Fit::Contain, RenditionFormat::Jpeg));
        presets.push(preset(1, 1, Fit::Cover, RenditionFormat::Png));
        presets.push(preset(4000, 3000, Fit::Contain, RenditionFormat::Webp));
        for preset in presets {
            let icon = document_icon(&preset).unwrap();
            assert!(icon.width <= preset.width && icon.height <= preset.height);
            let out = image::load_from_memory(&icon.bytes).unwrap();
            assert_eq!(out.dimensions(), (icon.width, icon.height));
            assert_eq!(icon.media_type, preset.format.media_type());
        }
    }
}
