//! The PIX QR PNG decodes back to the exact copia-e-cola (`cargo test media`): the PNG is read
//! with an independent decoder written here (chunks, CRCs, zlib, bits) and the image scanned
//! with rqrr, as a phone's camera would.

use std::io::Read;

use super::*;

/// A real-shaped PIX copia-e-cola (EMV BR Code, with its CRC16 field).
const PIX: &str = "00020101021226900014br.gov.bcb.pix2568qrpix.bradesco.com.br/qr/v2/cobv/\
9d36b84f-c70b-478f-b95c-12729b90ca25520400005303986540599.905802BR5925LOJA EXEMPLO \
COMERCIO LTDA6009SAO PAULO62070503***6304ABCD";

/// Decodes a greyscale, bit-depth-1 PNG into (side, pixels 0 or 255), checking every CRC.
fn decode_png(png: &[u8]) -> (usize, usize, Vec<u8>) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let (mut at, mut width, mut height, mut idat) = (8, 0, 0, Vec::new());
    loop {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().expect("4 bytes")) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + len];
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        let stored = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().expect("crc"));
        assert_eq!(
            crc.sum(),
            stored,
            "CRC of {}",
            String::from_utf8_lossy(kind)
        );
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().expect("w")) as usize;
                height = u32::from_be_bytes(data[4..8].try_into().expect("h")) as usize;
                assert_eq!(&data[8..], &[1, 0, 0, 0, 0], "1-bit greyscale");
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            other => panic!("unexpected chunk {other:?}"),
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .expect("valid zlib");
    let row_bytes = width.div_ceil(8);
    assert_eq!(raw.len(), height * (row_bytes + 1));
    let mut pixels = Vec::with_capacity(width * height);
    for row in raw.chunks(row_bytes + 1) {
        assert_eq!(row[0], 0, "filter type none");
        for x in 0..width {
            let bit = row[1 + x / 8] & (0x80 >> (x % 8));
            pixels.push(if bit == 0 { 0 } else { 255 });
        }
    }
    (width, height, pixels)
}

#[test]
fn media_pix_qr_png_decodes_back_to_the_exact_copia_e_cola() {
    let png = pix_qr_png(PIX).expect("a PIX code fits");
    let (w, h, pixels) = decode_png(&png);
    assert_eq!(w, h, "square");
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    let (_, text) = grids[0].decode().expect("decodes");
    assert_eq!(text, PIX);
}

#[test]
fn media_pix_qr_png_is_small() {
    let png = pix_qr_png(PIX).expect("a PIX code fits");
    assert!(png.len() < 4096, "{} bytes", png.len());
}

#[test]
fn media_pix_qr_refuses_a_text_no_qr_code_holds() {
    let err = pix_qr_png(&"9".repeat(8000)).expect_err("too long");
    assert!(err.to_string().starts_with("o texto não cabe num QR code"));
}
