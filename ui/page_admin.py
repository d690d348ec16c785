"""The admin page script (``st.navigation`` in ui/shell.py lists it for admins only)."""

from ui.admin_view import admin_page
from ui.shell import current_backend, current_user

admin_page(current_backend(), current_user())
