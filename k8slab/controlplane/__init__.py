"""The control plane: controller manager, controllers, scheduler."""
