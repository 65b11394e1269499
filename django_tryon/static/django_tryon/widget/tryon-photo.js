/*
 * django-tryon widget: the shopper's photo, before it leaves the browser.
 *
 * Privacy: the photo is resized and re-encoded in memory (which also drops its EXIF/GPS
 * metadata) and shown back only through an object URL the widget revokes afterwards.
 * Loaded as a classic script (no build step); it adds window.djangoTryon.photo.
 */
(function () {
  "use strict";

  const tryon = (window.djangoTryon = window.djangoTryon || {});

  class PhotoError extends Error {
    constructor(code, values) {
      super(code);
      this.code = code;
      this.values = values || {};
    }
  }

  /**
   * Decode (honouring EXIF orientation), check the size, scale the long side down to
   * maxSide and re-encode as JPEG. Files the browser cannot decode are sent as they are,
   * so the server can say exactly what is wrong (HEIC, damaged, not an image).
   */
  async function preparePhoto(file, options) {
    if (file.type && !file.type.startsWith("image/")) {
      throw new PhotoError("not_an_image");
    }
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (error) {
      return {
        blob: file,
        name: file.name || "photo",
        width: 0,
        height: 0,
        resized: false,
        previewUrl: null,
      };
    }
    const width = bitmap.width;
    const height = bitmap.height;
    if (Math.min(width, height) < options.minSide) {
      bitmap.close();
      throw new PhotoError("too_small", { width: width, height: height });
    }
    // Never scale the short side below minSide, whatever the long side says.
    const scale = Math.min(
      1,
      Math.max(options.maxSide / Math.max(width, height), options.minSide / Math.min(width, height))
    );
    const outWidth = Math.round(width * scale);
    const outHeight = Math.round(height * scale);
    const canvas = document.createElement("canvas");
    canvas.width = outWidth;
    canvas.height = outHeight;
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff"; // transparent PNG areas become white, not black
    context.fillRect(0, 0, outWidth, outHeight);
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, outWidth, outHeight);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", options.quality));
    canvas.width = canvas.height = 0;
    if (!blob) {
      throw new PhotoError("not_an_image");
    }
    return {
      blob: blob,
      name: "photo.jpg",
      width: outWidth,
      height: outHeight,
      resized: scale < 1,
      previewUrl: URL.createObjectURL(blob),
    };
  }

  function preload(url) {
    return new Promise((resolve) => {
      const image = new Image();
      image.onload = image.onerror = () => resolve();
      image.src = url;
    });
  }

  function downloadName(garmentName) {
    const slug = (garmentName || "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "");
    return "try-on" + (slug ? "-" + slug : "") + ".png";
  }

  tryon.photo = { PhotoError: PhotoError, preparePhoto: preparePhoto, preload: preload, downloadName: downloadName };
})();
