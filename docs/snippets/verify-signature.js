const crypto = require('crypto');
const secret = $env.AVISA_WEBHOOK_SECRET;
const raw = await this.helpers.getBinaryDataBuffer(0, 'data');
const header = $json.headers['x-avisa-signature'] || '';
const parts = Object.fromEntries(header.split(',').map((p) => p.split('=')));
const t = Number(parts.t);
const expected = crypto.createHmac('sha256', secret).update(`${t}.`).update(raw).digest('hex');
const given = Buffer.from(parts.v1 || '', 'utf8');
const ok = given.length === expected.length
  && crypto.timingSafeEqual(given, Buffer.from(expected, 'utf8'))
  && Math.abs(Date.now() / 1000 - t) <= 300;
if (!ok) {
  throw new Error('assinatura do avisa inválida');
}
return { json: JSON.parse(raw.toString('utf8')) };
