//! Real recordings for the comparison: WAV files at any rate, and RTP captures (pcap).

use std::path::Path;

use audioadapter_buffers::direct::InterleavedSlice;
use etherparse::{SlicedPacket, TransportSlice};
use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use rubato::{Fft, FixedSync, Resampler};

/// A recording that cannot be used, with the file and the reason.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct FileError {
    /// The file.
    pub file: String,
    /// What was wrong.
    pub reason: String,
}

fn error(path: &Path, reason: impl ToString) -> FileError {
    FileError {
        file: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Reads a 16-bit PCM WAV (channels mixed down) and returns its samples at 8 kHz.
pub fn read_wav_8k(path: &Path) -> Result<Vec<i16>, FileError> {
    let reader = hound::WavReader::open(path).map_err(|e| error(path, e))?;
    let spec = reader.spec();
    if spec.bits_per_sample != 16 || spec.sample_format != hound::SampleFormat::Int {
        return Err(error(
            path,
            format!(
                "{}-bit {:?} samples; 16-bit PCM is needed",
                spec.bits_per_sample, spec.sample_format
            ),
        ));
    }
    let channels = usize::from(spec.channels.max(1));
    let samples: Vec<i16> = reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| error(path, e))?;
    let mono: Vec<f32> = samples
        .chunks(channels)
        .map(|frame| frame.iter().map(|&s| f32::from(s)).sum::<f32>() / channels as f32)
        .collect();
    resample_to_8k(&mono, spec.sample_rate).map_err(|e| error(path, e))
}

/// Resamples mono audio to 8 kHz with rubato's FFT resampler (delay trimmed).
pub fn resample_to_8k(mono: &[f32], rate: u32) -> Result<Vec<i16>, String> {
    let to_i16 = |s: f32| s.round().clamp(-32768.0, 32767.0) as i16;
    if rate == 8000 {
        return Ok(mono.iter().map(|&s| to_i16(s)).collect());
    }
    let mut resampler = Fft::<f32>::new(rate as usize, 8000, 1024, 1, FixedSync::Input)
        .map_err(|e| format!("cannot resample from {rate} Hz: {e}"))?;
    let input = InterleavedSlice::new(mono, 1, mono.len()).map_err(|e| e.to_string())?;
    let out = resampler
        .process_all(&input, mono.len(), None)
        .map_err(|e| e.to_string())?;
    Ok(out.take_data().into_iter().map(to_i16).collect())
}

/// One RTP packet from a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket {
    /// Payload type.
    pub payload_type: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub sequence: u16,
    /// Timestamp.
    pub timestamp: u32,
    /// The payload, padding removed.
    pub payload: Vec<u8>,
}

/// Parses the RTP header of a UDP payload (RFC 3550 §5.1); `None` if it is not RTP.
fn parse_rtp(data: &[u8]) -> Option<RtpPacket> {
    if data.len() < 12 || data[0] >> 6 != 2 {
        return None;
    }
    let csrc_count = usize::from(data[0] & 0x0f);
    let mut offset = 12 + 4 * csrc_count;
    if data[0] & 0x10 != 0 {
        let words = u16::from_be_bytes([*data.get(offset + 2)?, *data.get(offset + 3)?]);
        offset += 4 + 4 * usize::from(words);
    }
    let mut end = data.len();
    if data[0] & 0x20 != 0 {
        end = end.checked_sub(usize::from(*data.last()?))?;
    }
    Some(RtpPacket {
        payload_type: data[1] & 0x7f,
        marker: data[1] & 0x80 != 0,
        sequence: u16::from_be_bytes([data[2], data[3]]),
        timestamp: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
        payload: data.get(offset..end)?.to_vec(),
    })
}

/// Reads every RTP packet (UDP over IPv4/IPv6 on Ethernet) from a classic pcap file.
pub fn read_rtp_capture(path: &Path) -> Result<Vec<RtpPacket>, FileError> {
    let file = std::fs::File::open(path).map_err(|e| error(path, e))?;
    let mut reader = PcapReader::new(file).map_err(|e| error(path, e))?;
    let datalink = reader.header().datalink;
    if datalink != DataLink::ETHERNET {
        return Err(error(
            path,
            format!("link type {datalink:?}; Ethernet captures are supported"),
        ));
    }
    let mut packets = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.map_err(|e| error(path, e))?;
        let Ok(sliced) = SlicedPacket::from_ethernet(&packet.data) else {
            continue;
        };
        if let Some(TransportSlice::Udp(udp)) = sliced.transport
            && let Some(rtp) = parse_rtp(udp.payload())
        {
            packets.push(rtp);
        }
    }
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtp_headers_with_csrcs_extension_and_padding_are_stripped() {
        let mut data = vec![
            0x80 | 0x20 | 0x10 | 1,
            0x80 | 101,
            0x12,
            0x34,
            0,
            0,
            0x03,
            0xe8,
        ];
        data.extend([0, 0, 0, 1]); // SSRC
        data.extend([0, 0, 0, 2]); // one CSRC
        data.extend([0xbe, 0xde, 0, 1, 9, 9, 9, 9]); // extension of one word
        data.extend([5, 0x8a, 0x03, 0x20]); // the payload
        data.extend([0, 2]); // two bytes of padding
        let rtp = parse_rtp(&data).unwrap();
        assert_eq!(rtp.payload_type, 101);
        assert!(rtp.marker);
        assert_eq!((rtp.sequence, rtp.timestamp), (0x1234, 1000));
        assert_eq!(rtp.payload, [5, 0x8a, 0x03, 0x20]);
        assert_eq!(parse_rtp(&data[..11]), None);
        assert_eq!(parse_rtp(&[0x40; 20]), None); // version 1
    }
}
