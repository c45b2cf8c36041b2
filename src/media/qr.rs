//! The PIX QR code drawn by avisa from the copia-e-cola text, as a PNG: never an image URL from
//! a third party. qrcode gives the modules; the PNG is one IHDR, one zlib IDAT and IEND (flate2
//! for deflate and the chunks' CRC), 1 bit per pixel. Pure.

use std::io::Write;

/// Pixels per QR module: a 150-character PIX code (version 7, 45 modules) makes a 424 px image.
const SCALE: usize = 8;
/// The quiet zone around the code, in modules (the standard's minimum is 4).
const QUIET: usize = 4;

/// Why a text cannot be drawn as a QR code (longer than a QR code holds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrError(pub String);

impl std::fmt::Display for QrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "o texto não cabe num QR code: {}", self.0)
    }
}

impl std::error::Error for QrError {}

/// The QR code of `text` (error correction M, as banks' PIX codes use) as a PNG.
pub fn pix_qr_png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| QrError(e.to_string()))?;
    let modules = code.width();
    let dark = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let row_bytes = side.div_ceil(8);
    // Each scanline: filter type 0, then the bits, 1 = white (greyscale, bit depth 1).
    let mut raw = Vec::with_capacity(side * (row_bytes + 1));
    for y in 0..side {
        raw.push(0u8);
        let mut row = vec![0xffu8; row_bytes];
        let my = (y / SCALE).checked_sub(QUIET).filter(|m| *m < modules);
        for x in 0..side {
            let mx = (x / SCALE).checked_sub(QUIET).filter(|m| *m < modules);
            if let (Some(mx), Some(my)) = (mx, my)
                && dark[my * modules + mx] == qrcode::Color::Dark
            {
                row[x / 8] &= !(0x80 >> (x % 8));
            }
        }
        raw.extend_from_slice(&row);
    }
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    zlib.write_all(&raw).expect("writing to memory");
    let idat = zlib.finish().expect("writing to memory");

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let side32 = u32::try_from(side).expect("a QR code is at most 177 modules");
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&side32.to_be_bytes());
    ihdr.extend_from_slice(&side32.to_be_bytes());
    // Bit depth 1, colour type 0 (greyscale), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    Ok(png)
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).expect("a chunk under 4 GB");
    png.extend_from_slice(&len.to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    png.extend_from_slice(&crc.sum().to_be_bytes());
}

#[cfg(test)]
#[path = "qr_tests.rs"]
mod media_qr_tests;
