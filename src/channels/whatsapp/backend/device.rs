//! `DeviceStore`: the instance's device record and its device counter.

use whatsapp_rust::async_trait;
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::DeviceStore;

use super::RedbBackend;
use super::encoding::{NEXT_DEVICE_ID, from_json, invalid, space, to_json};

#[async_trait]
impl DeviceStore for RedbBackend {
    async fn save(&self, device: &Device) -> Result<()> {
        self.put(space::DEVICE, Vec::new(), to_json(device)?).await
    }

    async fn load(&self) -> Result<Option<Device>> {
        self.get(space::DEVICE, Vec::new())
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    async fn exists(&self) -> Result<bool> {
        Ok(self.get(space::DEVICE, Vec::new()).await?.is_some())
    }

    /// Numbers device rows 1, 2, 3, … per instance (kept across restarts) and materialises a
    /// fresh device if there is none, as the library's own backend does, its signed pre-key
    /// rotation stamped from avisa's clock instead of the library's wall clock.
    async fn create(&self) -> Result<i32> {
        let now_ms = self.clock.now().saturating_mul(1000);
        self.write(move |w| {
            let id = match w.get(space::META, NEXT_DEVICE_ID)? {
                Some(bytes) => i32::from_be_bytes(
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| invalid("the device counter"))?,
                ),
                None => 1,
            };
            w.put(space::META, NEXT_DEVICE_ID, &(id + 1).to_be_bytes())?;
            if w.get(space::DEVICE, b"")?.is_none() {
                let mut device = Device::new();
                device.last_signed_pre_key_rotation_ms = now_ms;
                w.put(space::DEVICE, b"", &to_json(&device)?)?;
            }
            Ok(id)
        })
        .await
    }
}
