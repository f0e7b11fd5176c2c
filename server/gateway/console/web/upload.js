// Uploads through the S3 relay: one PutObject for small files, a multipart upload (8 MiB
// parts, one at a time) for large ones, with progress, speed and cancel.

import { s3, s3Path, xml } from './api.js';

export const MULTIPART_FROM = 16 * 1024 * 1024;
const PART = 8 * 1024 * 1024;

// Uploads `file` as bucket/key. `progress(doneBytes)` is called as bytes go out; aborting
// `signal` cancels (and aborts the multipart upload so no parts are kept).
export async function uploadFile(bucket, key, file, progress, signal) {
  const url = s3Path(bucket, key);
  if (file.size < MULTIPART_FROM) {
    await s3('PUT', url, file, { onProgress: progress, signal });
    progress(file.size);
    return;
  }
  const created = await s3('POST', `${url}?uploads`, undefined, { signal });
  const uploadId = xml(created).querySelector('UploadId').textContent;
  const target = `${url}?uploadId=${encodeURIComponent(uploadId)}`;
  try {
    const parts = [];
    for (let n = 1, off = 0; off < file.size; n++, off += PART) {
      const blob = file.slice(off, Math.min(file.size, off + PART));
      const res = await s3('PUT', `${url}?partNumber=${n}&uploadId=${encodeURIComponent(uploadId)}`,
        blob, { onProgress: (done) => progress(off + done), signal });
      parts.push(`<Part><PartNumber>${n}</PartNumber><ETag>${res.getResponseHeader('ETag')}</ETag></Part>`);
    }
    await s3('POST', target, `<CompleteMultipartUpload>${parts.join('')}</CompleteMultipartUpload>`);
    progress(file.size);
  } catch (e) {
    await s3('DELETE', target).catch(() => {});
    throw e;
  }
}
