"""The chat page script (``st.navigation`` in ui/shell.py runs it)."""

from ui.chat_view import chat_page
from ui.shell import current_backend, current_user

chat_page(current_backend(), current_user())
