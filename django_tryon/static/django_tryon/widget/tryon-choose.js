/*
 * django-tryon widget: step 1 of <tryon-widget>, consent and then a photo or a house model.
 * Its methods are the element's own (tryon-element.js copies them onto its prototype), so
 * "this" is the element; the step's handlers live here to keep each part short.
 * Loaded as a classic script (no build step); it adds window.djangoTryon.choosing.
 */
(function () {
  "use strict";

  const tryon = (window.djangoTryon = window.djangoTryon || {});

  tryon.choosing = {
    _onConsent(options) {
      const given = this._el.consent.checked;
      this._el.choose.disabled = !given;
      if (this._el.camera) {
        this._el.camera.disabled = !given;
      }
      if (!(options && options.silent)) {
        this._emit("consent", { given: given });
      }
    },

    async _onFile(input) {
      const file = input.files && input.files[0];
      input.value = ""; // the same file may be chosen again after an error
      if (!file || this._busy()) {
        return;
      }
      if (!this._el.consent.checked) {
        this._fail("consent_required", "choose");
        return;
      }
      this._view.clearError();
      this._state = "preparing";
      let photo;
      try {
        photo = await tryon.photo.preparePhoto(file, {
          maxSide: this.maxSide,
          minSide: this.minSide,
          quality: this._floatAttr("jpeg-quality", 0.9),
        });
      } catch (error) {
        this._state = "idle";
        this._fail(error.code || "not_an_image", "choose", { values: error.values });
        return;
      }
      this._revokeBefore();
      this._beforeUrl = photo.previewUrl;
      this._emit("upload", {
        source: "photo",
        width: photo.width,
        height: photo.height,
        bytes: photo.blob.size,
        resized: photo.resized,
      });
      const form = new FormData();
      form.append("garment", this.garment);
      form.append("person_image", photo.blob, photo.name);
      form.append("consent", "true");
      this._create(form);
    },

    async _loadModels() {
      const mode = this.getAttribute("house-models") || "auto";
      if (this._modelsLoaded || mode === "off" || !this._el.models) {
        return;
      }
      this._modelsLoaded = true;
      const photos = await this._api.modelPhotos();
      this._view.listModels(photos, (photo, imageUrl) => this._onModel(photo, imageUrl));
    },

    _onModel(photo, imageUrl) {
      if (this._busy()) {
        return;
      }
      this._view.clearError();
      this._revokeBefore();
      this._beforeUrl = null;
      this._beforeSrc = imageUrl;
      this._emit("upload", { source: "model", modelPhoto: photo.id });
      const form = new FormData();
      form.append("garment", this.garment);
      form.append("model_photo", photo.id);
      this._create(form);
    },
  };
})();
