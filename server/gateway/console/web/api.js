// The console's JSON API and the S3 operations it relays (docs/console.md). State changes
// carry the session's CSRF token; the session itself is an HttpOnly cookie.

export const API = '/console/api/v1';
let csrf = '';

export function setCsrf(token) { csrf = token; }

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function call(method, path, body) {
  const headers = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(API + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, (data && data.error) || `HTTP ${res.status}`);
  return data;
}

// The S3 path of an object or bucket under the relay: every key segment percent-encoded.
export function s3Path(bucket, key = '') {
  const encodedKey = key.split('/').map(encodeURIComponent).join('/');
  return `${API}/s3/${encodeURIComponent(bucket)}/${encodedKey}`;
}

function s3Error(status, text) {
  const doc = new DOMParser().parseFromString(text || '', 'application/xml');
  const code = doc.querySelector('Code')?.textContent;
  const message = doc.querySelector('Message')?.textContent;
  return new ApiError(status, code ? `${code}: ${message || ''}` : `HTTP ${status}`);
}

// An S3 request through the relay; resolves to the XMLHttpRequest once done.
export function s3(method, url, body, { onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    if (method !== 'GET' && method !== 'HEAD') xhr.setRequestHeader('X-CSRF-Token', csrf);
    if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => (xhr.status < 300 ? resolve(xhr) : reject(s3Error(xhr.status, xhr.responseText)));
    xhr.onerror = () => reject(new ApiError(0, 'network error'));
    xhr.onabort = () => reject(new ApiError(0, 'cancelled'));
    if (signal) signal.addEventListener('abort', () => xhr.abort());
    xhr.send(body === undefined ? null : body);
  });
}

export function xml(xhr) {
  return new DOMParser().parseFromString(xhr.responseText, 'application/xml');
}
