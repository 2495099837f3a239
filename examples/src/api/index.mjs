// The shop's public API: forwards orders to the orders service.
const ORDERS_URL = process.env.ORDERS_URL ?? "http://orders:8080";

export const handler = async (event) => {
  if (event.requestContext?.http?.method === "POST") {
    const res = await fetch(`${ORDERS_URL}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: event.body ?? "{}",
    });
    return { statusCode: res.status, body: await res.text() };
  }
  return { statusCode: 200, body: JSON.stringify({ ok: true }) };
};
