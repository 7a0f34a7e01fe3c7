//! The SMS texts of the consent conversation, in Russian and Kazakh.
//!
//! The Russian texts are those of appendix 1 to the 2023 order (the start message, the
//! answers to `3#2` and `3#1`), with the names filled in. Two additions: the answers name
//! the child (a parent of two children has one conversation per child and must know which
//! one an answer was about), and the reply window comes from the programme's rules. The
//! reminder is the start message again, marked as repeated; the help text is ours. The
//! Kazakh texts are our translation (the source carries only the Russian ones).

use super::Language;

/// The default link in the confirmation SMS (from the order).
pub const DEFAULT_WALLET_LINK: &str = "https://egovmobile.page.link/socwallet";

/// Who a message speaks to and about.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    /// The parent's full name.
    pub parent: &'a str,
    /// The child's full name.
    pub child: &'a str,
}

/// "N calendar days" in the genitive Russian needs after «в течение».
fn ru_days(n: u8) -> String {
    if n % 10 == 1 && n % 100 != 11 {
        format!("{n} календарного дня")
    } else {
        format!("{n} календарных дней")
    }
}

const RU_SERVICE: &str = "\"Предоставление бесплатного и льготного питания отдельным категориям \
    обучающихся и воспитанников в общеобразовательных школах\"";

const KK_SERVICE: &str = "«Жалпы білім беретін мектептерде білім алушылар мен тәрбиеленушілердің \
    жекелеген санаттарына тегін және жеңілдетілген тамақтандыруды ұсыну»";

/// The start SMS; `reply_days` is the programme's window before the reminder.
pub fn start(lang: Language, names: Names<'_>, reply_days: u8) -> String {
    let Names { parent, child } = names;
    match lang {
        Language::Ru => format!(
            "Уважаемый (ая) {parent}!\n\
             Вашему ребенку {child} полагается бесплатное питание в общеобразовательной школе.\n\
             Для получения бесплатного питания отправьте СМС с текстом: 3#1. Если Вы не согласны \
             введите 3#2 либо проигнорируйте данное сообщение. Ответить необходимо в течение {days}.\n\
             При отправке текста 3#1 Вы подтверждаете свое согласие на сбор и обработку \
             общедоступных персональных данных и персональных данных ограниченного доступа, \
             необходимых для оказания государственной услуги {RU_SERVICE} в соответствии со \
             статьей 8 Закона Республики Казахстан \"О персональных данных и их защите\".\n\
             Настоящее согласие действует в период оказания указанной государственной услуги. \
             Отмечаем об отсутствии передачи персональных данных третьим лицам и трансграничной \
             передачи.\n\
             В случае возникновения вопросов можете обратиться в Call-центр по номеру 1414. \
             Звонок бесплатный.",
            days = ru_days(reply_days)
        ),
        Language::Kk => format!(
            "Құрметті {parent}!\n\
             Сіздің балаңыз {child} жалпы білім беретін мектепте тегін тамақтануға құқылы.\n\
             Тегін тамақтануды алу үшін 3#1 мәтінімен СМС жіберіңіз. Келіспеген жағдайда 3#2 деп \
             жіберіңіз немесе осы хабарламаны елемеңіз. Жауапты {reply_days} күнтізбелік күн \
             ішінде беру қажет.\n\
             3#1 мәтінін жіберу арқылы Сіз {KK_SERVICE} мемлекеттік қызметін көрсету үшін қажетті \
             жалпыға қолжетімді дербес деректерді және қолжетімділігі шектеулі дербес деректерді \
             «Дербес деректер және оларды қорғау туралы» Қазақстан Республикасы Заңының 8-бабына \
             сәйкес жинауға және өңдеуге келісіміңізді растайсыз.\n\
             Осы келісім аталған мемлекеттік қызметті көрсету кезеңінде қолданылады. Дербес \
             деректер үшінші тұлғаларға және трансшекаралық берілмейді.\n\
             Сұрақтар туындаған жағдайда 1414 нөмірі бойынша Call-орталыққа хабарласа аласыз. \
             Қоңырау тегін."
        ),
    }
}

/// The one reminder: the start message again, marked as repeated.
pub fn reminder(lang: Language, names: Names<'_>, reply_days: u8) -> String {
    let mark = match lang {
        Language::Ru => "Повторное сообщение.",
        Language::Kk => "Қайталама хабарлама.",
    };
    format!("{mark}\n{}", start(lang, names, reply_days))
}

/// The answer to `3#1`, with the link to the wallet.
pub fn agreed(lang: Language, child: &str, link: &str) -> String {
    match lang {
        Language::Ru => format!(
            "Ваше согласие на получение бесплатного питания (ребенок: {child}) обработано \
             положительно. Для получения цифрового ваучера Вам необходимо зарегистрироваться в \
             приложении \"Социальный кошелек\" в мобильном приложении электронного правительства \
             eGov mobile перейдя по ссылке {link}."
        ),
        Language::Kk => format!(
            "Тегін тамақтануды алуға келісіміңіз (бала: {child}) оң қаралды. Цифрлық ваучерді \
             алу үшін {link} сілтемесі арқылы өтіп, eGov mobile электрондық үкімет мобильді \
             қосымшасындағы «Әлеуметтік әмиян» қосымшасында тіркелуіңіз қажет."
        ),
    }
}

/// The answer to `3#2`.
pub fn refused(lang: Language, child: &str) -> String {
    match lang {
        Language::Ru => format!("Вы отказались от получения услуги (ребенок: {child})."),
        Language::Kk => format!("Сіз қызметті алудан бас тарттыңыз (бала: {child})."),
    }
}

/// The answer to anything that is neither `3#1` nor `3#2`.
pub fn help(lang: Language, child: &str) -> String {
    match lang {
        Language::Ru => format!(
            "Ответ не распознан. Чтобы получить бесплатное питание для ребенка {child}, \
             отправьте СМС с текстом 3#1; чтобы отказаться — 3#2. Call-центр: 1414."
        ),
        Language::Kk => format!(
            "Жауап танылмады. {child} баласына тегін тамақтануды алу үшін 3#1 мәтінімен СМС \
             жіберіңіз; бас тарту үшін — 3#2. Call-орталық: 1414."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: Names<'static> = Names {
        parent: "Сапарова Гульнара",
        child: "Сапаров Нурлан",
    };

    #[test]
    fn the_start_sms_is_the_orders_text_with_the_names() {
        let text = start(Language::Ru, NAMES, 3);
        assert!(
            text.starts_with("Уважаемый (ая) Сапарова Гульнара!\n"),
            "{text}"
        );
        assert!(text.contains(
            "Вашему ребенку Сапаров Нурлан полагается бесплатное питание в общеобразовательной школе."
        ));
        assert!(text.contains("Для получения бесплатного питания отправьте СМС с текстом: 3#1. Если Вы не согласны введите 3#2 либо проигнорируйте данное сообщение. Ответить необходимо в течение 3 календарных дней."));
        assert!(text.contains("в соответствии со статьей 8 Закона Республики Казахстан \"О персональных данных и их защите\"."));
        assert!(text.ends_with("Call-центр по номеру 1414. Звонок бесплатный."));
        assert!(
            !text.contains("  "),
            "no doubled spaces from line joins: {text}"
        );
        let kk = start(Language::Kk, NAMES, 3);
        assert!(kk.starts_with("Құрметті Сапарова Гульнара!"), "{kk}");
        assert!(kk.contains("Сапаров Нурлан") && kk.contains("3#1") && kk.contains("3#2"));
        assert!(!kk.contains("  "), "{kk}");
    }

    #[test]
    fn the_window_is_the_programmes() {
        assert!(start(Language::Ru, NAMES, 7).contains("в течение 7 календарных дней"));
        assert!(start(Language::Ru, NAMES, 1).contains("в течение 1 календарного дня"));
        assert!(start(Language::Ru, NAMES, 21).contains("в течение 21 календарного дня"));
        assert!(start(Language::Ru, NAMES, 11).contains("в течение 11 календарных дней"));
        assert!(start(Language::Kk, NAMES, 7).contains("7 күнтізбелік күн ішінде"));
    }

    #[test]
    fn answers_name_the_child() {
        let yes = agreed(Language::Ru, "Сапаров Нурлан", DEFAULT_WALLET_LINK);
        assert!(yes.starts_with("Ваше согласие на получение бесплатного питания"));
        assert!(
            yes.contains("Сапаров Нурлан") && yes.ends_with(&format!("{DEFAULT_WALLET_LINK}."))
        );
        assert!(refused(Language::Ru, "Сапаров Нурлан")
            .starts_with("Вы отказались от получения услуги"));
        assert!(help(Language::Kk, "Сапаров Нурлан").contains("3#1"));
        assert!(reminder(Language::Ru, NAMES, 3).starts_with("Повторное сообщение.\nУважаемый"));
    }
}
