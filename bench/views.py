"""Baseline views: the least a Django view can do with the same input."""

from django.core.files.storage import default_storage
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def baseline_upload(request):
    """Save the uploaded photo to storage and answer 201: benchmark 1's baseline."""
    upload = request.FILES["person_image"]
    name = default_storage.save("bench/uploads/upload.jpg", upload)
    return JsonResponse({"name": name}, status=201)


@csrf_exempt
@require_POST
def baseline_decode(request):
    """Decode and re-encode the upload in this process, as a create did before issue 22:
    benchmark 9's baseline."""
    from django_tryon import images

    data = request.FILES["person_image"].read()
    images.inspect_image(data)
    prepared = images.prepare_for_provider(data)
    return JsonResponse({"bytes": len(prepared.data)}, status=201)
