//! Where an image goes: its size in points from its pixels and the bundle's
//! metadata, fitted to the cell's width; and the caps on what is decoded.

/// Largest side decoded: a header claiming more is refused, not allocated.
pub const MAX_SIDE: u32 = 16_384;
/// Largest image decoded, in pixels (256 MiB of RGBA).
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;
/// The size a placeholder takes when nothing tells the image's size yet.
pub const UNKNOWN: [f32; 2] = [400.0, 240.0];

/// Refuses sizes the decoder will not allocate, with a reason to show.
pub fn check_dimensions(width: u32, height: u32) -> Result<(), String> {
    if width == 0 || height == 0 {
        return Err(format!("the image is {width}×{height} pixels (empty)"));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!(
            "the image is {width}×{height} pixels; Runyard shows images of at most {MAX_SIDE} pixels a side and {} megapixels",
            MAX_PIXELS / (1024 * 1024)
        ));
    }
    Ok(())
}

/// The logical size (points) of an image of `natural` size (pixels, or an
/// SVG's user units: CSS pixels, one point each), as the metadata's `width`
/// and `height` ask (one of them keeps the aspect ratio), shrunk to
/// `max_width` keeping the aspect ratio. `None` when nothing tells a size.
pub fn shown_size(natural: Option<[f32; 2]>, logical: (Option<f32>, Option<f32>), max_width: f32) -> Option<[f32; 2]> {
    let aspect = natural.filter(|[w, h]| *w > 0.0 && *h > 0.0).map(|[w, h]| h / w);
    let [width, height] = match (logical, aspect) {
        ((Some(w), Some(h)), _) => [w, h],
        ((Some(w), None), Some(a)) => [w, w * a],
        ((None, Some(h)), Some(a)) => [h / a, h],
        ((None, None), Some(_)) => natural?,
        _ => return None,
    };
    if !(width > 0.0 && height > 0.0 && width.is_finite() && height.is_finite()) {
        return None;
    }
    let max_width = max_width.max(16.0);
    Some(if width > max_width {
        [max_width, height * max_width / width]
    } else {
        [width, height]
    })
}

/// The pixel size to rasterise (or keep) an image shown at `points`: that
/// size × `pixels_per_point`, no larger than the texture side allows (the
/// aspect ratio kept) and at least one pixel.
pub fn pixel_size(points: [f32; 2], pixels_per_point: f32, max_side: u32) -> [u32; 2] {
    let mut w = (points[0] * pixels_per_point).round().max(1.0);
    let mut h = (points[1] * pixels_per_point).round().max(1.0);
    let max = max_side.min(MAX_SIDE) as f32;
    let over = (w / max).max(h / max);
    if over > 1.0 {
        w = (w / over).floor().max(1.0);
        h = (h / over).floor().max(1.0);
    }
    [w as u32, h as u32]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_2x_png_with_its_logical_size_shows_at_that_size() {
        let shown = shown_size(Some([1280.0, 960.0]), (Some(640.0), Some(480.0)), 1000.0);
        assert_eq!(shown, Some([640.0, 480.0]));
        // Width only: the aspect ratio gives the height.
        assert_eq!(
            shown_size(Some([1280.0, 960.0]), (Some(640.0), None), 1000.0),
            Some([640.0, 480.0])
        );
        assert_eq!(
            shown_size(Some([1280.0, 960.0]), (None, Some(240.0)), 1000.0),
            Some([320.0, 240.0])
        );
    }

    #[test]
    fn without_metadata_a_pixel_is_a_point_and_wide_images_fit_the_cell() {
        assert_eq!(
            shown_size(Some([300.0, 200.0]), (None, None), 1000.0),
            Some([300.0, 200.0])
        );
        assert_eq!(
            shown_size(Some([2000.0, 1000.0]), (None, None), 500.0),
            Some([500.0, 250.0])
        );
        assert_eq!(shown_size(None, (None, None), 500.0), None);
        assert_eq!(shown_size(None, (Some(100.0), Some(50.0)), 500.0), Some([100.0, 50.0]));
        assert_eq!(shown_size(Some([0.0, 10.0]), (None, None), 500.0), None);
    }

    #[test]
    fn pixels_follow_the_scale_and_stay_inside_the_texture_limit() {
        assert_eq!(pixel_size([640.0, 480.0], 2.0, 8192), [1280, 960]);
        assert_eq!(pixel_size([4000.0, 1000.0], 2.0, 2048), [2048, 512]);
        assert_eq!(pixel_size([0.1, 0.1], 1.0, 2048), [1, 1]);
    }

    #[test]
    fn huge_headers_are_refused_with_a_reason() {
        assert!(check_dimensions(640, 480).is_ok());
        assert!(check_dimensions(16_384, 4096).is_ok());
        let err = check_dimensions(100_000, 100_000).unwrap_err();
        assert!(err.contains("100000×100000"), "{err}");
        assert!(check_dimensions(16_384, 16_384).is_err(), "256 megapixels");
        assert!(check_dimensions(0, 5).is_err());
    }
}
