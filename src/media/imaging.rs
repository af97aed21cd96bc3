//! Image work, pure (bytes in, bytes out): what a file is, judged from its
//! bytes and never from its name; its size from the header, so a pixel
//! bomb is refused before anything is allocated for it; and renditions.

use std::io::Cursor;

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
    if head.trim_start().starts_with('<') {
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

/// The decoder's limits: no image above `max_pixels`, and no allocation
/// above what such an image needs (4 channels of 16 bits).
fn decoder_limits(limits: &MediaLimits) -> image::Limits {
    let mut decoder = image::Limits::default();
    let side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    decoder.max_image_width = Some(side);
    decoder.max_image_height = Some(side);
    decoder.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    decoder
}

/// Reads what a file is from its bytes: type, size, orientation. Only the
/// header is read; a file whose header claims more than `max_pixels` is
/// refused here, before any decoding.
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
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits(limits));
    let mut decoder = reader
        .into_decoder()
        .map_err(|err| header_error(media_type, err, limits))?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, limits)?;
    check_complete(media_type, bytes)?;
    let orientation = decoder.orientation().map_or(1, orientation_number);
    let (width, height) = if orientation >= 5 {
        (height, width)
    } else {
        (width, height)
    };
    Ok(Probe {
        media_type,
        width: Some(width),
        height: Some(height),
        orientation,
    })
}

fn header_error(media_type: &str, err: image::ImageError, limits: &MediaLimits) -> MediaError {
    match err {
        image::ImageError::Limits(_) => MediaError::TooManyPixels {
            width: 0,
            height: 0,
            limit: limits.max_pixels,
        },
        other => corrupt(media_type, other),
    }
}

/// A JPEG or PNG cut short (an interrupted copy) passes a header read and
/// decoders fill the missing part grey: refused here by its missing end
/// (JPEG: the end-of-image marker after the last scan; PNG: the `IEND`
/// chunk), which costs a scan of the bytes, not a decode.
fn check_complete(media_type: &str, bytes: &[u8]) -> Result<(), MediaError> {
    let complete = match media_type {
        "image/jpeg" => {
            // Inside entropy-coded data 0xFF is always followed by 0x00 or a
            // restart marker, so the last start-of-scan marker is real.
            let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
            last_scan.is_some_and(|at| bytes[at..].windows(2).any(|w| w == [0xFF, 0xD9]))
        }
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

fn orientation_number(orientation: image::metadata::Orientation) -> u8 {
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
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits(limits));
    let mut decoder = reader
        .into_decoder()
        .map_err(|err| header_error(media_type, err, limits))?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, limits)?;
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(|err| corrupt(media_type, err))?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    Ok(image)
}

/// Makes the rendition of an image for a preset.
pub fn render(
    bytes: &[u8],
    preset: &MediaPreset,
    limits: &MediaLimits,
) -> Result<Rendered, MediaError> {
    let image = decode(bytes, limits)?;
    let (width, height) = preset.target_size(image.width(), image.height());
    let resized = match preset.fit {
        Fit::Contain => image.resize_exact(width, height, image::imageops::FilterType::Lanczos3),
        Fit::Cover => image.resize_to_fill(width, height, image::imageops::FilterType::Lanczos3),
    };
    encode(&resized, preset)
}

fn encode(image: &DynamicImage, preset: &MediaPreset) -> Result<Rendered, MediaError> {
    let mut out = Cursor::new(Vec::new());
    let result = match preset.format {
        RenditionFormat::Jpeg => {
            let rgb = image.to_rgb8();
            image::codecs::jpeg::JpegEncoder::new_with_quality(
                &mut out,
                preset.quality.clamp(1, 100),
            )
            .encode_image(&rgb)
        }
        RenditionFormat::Png => image.write_to(&mut out, ImageFormat::Png),
        RenditionFormat::Webp => image.to_rgba8().write_to(&mut out, ImageFormat::WebP),
    };
    result.map_err(|err| MediaError::Storage(format!("cannot encode the rendition: {err}")))?;
    Ok(Rendered {
        bytes: out.into_inner(),
        media_type: preset.format.media_type(),
        width: image.width(),
        height: image.height(),
    })
}

/// The picture shown for a document (a PDF) at a preset's size: a page
/// with a folded corner, so the library and the product page show something.
pub fn document_icon(preset: &MediaPreset) -> Result<Rendered, MediaError> {
    let side = preset.width.min(preset.height).clamp(16, 512);
    let mut canvas = image::RgbaImage::from_pixel(side, side, image::Rgba([245, 245, 245, 255]));
    let margin = side / 6;
    let fold = side / 5;
    for y in margin..side - margin {
        for x in margin + side / 12..side - margin - side / 12 {
            let right = side - margin - side / 12;
            let in_fold =
                x + fold > right && y < margin + fold && (right - x) < fold - (y - margin);
            let colour = if in_fold {
                image::Rgba([200, 200, 200, 255])
            } else if y > side / 2 && y < side / 2 + side / 10 {
                image::Rgba([200, 40, 40, 255])
            } else {
                image::Rgba([255, 255, 255, 255])
            };
            canvas.put_pixel(x, y, colour);
        }
    }
    let image = DynamicImage::ImageRgba8(canvas);
    encode(&image, preset)
}
